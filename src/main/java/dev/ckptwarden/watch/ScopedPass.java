package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.TreeReader;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pass limited to the places where something changed (see {@link Reconciler#reconcile(dev.ckptwarden.config.Config,
 * RootConfig, Set)}): each place is looked at from the nearest directory an earlier pass listed, the run
 * directories found there are settled against their own registry rows, and what vanished there is marked deleted.
 * A place an earlier pass listed is taken as changed in its own entries only: its sub-directories are not walked
 * again unless they are new. Returns null when the pass must be a full one instead (the root listed empty).
 */
final class ScopedPass {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class); // the reconciler's lines keep its logger name

    private ScopedPass() {
    }

    static RootScan run(Registry registry, RunSettler settler, Cataloger cataloger, RootConfig root, RootMemory memory,
                        List<Path> scopes, Duration settleTime, Instant now) {
        long started = System.nanoTime();
        Path rootDir = memory.rootDir;
        Set<Path> listedBefore = memory.examined;
        List<ScanProblem> problems = new ArrayList<>();
        TreeReader reader = new TreeReader((p, m) -> problems.add(new ScanProblem(root.name(), p, m)));
        Map<Path, Map<Path, Candidate>> found = new LinkedHashMap<>(); // run directory -> candidates by path
        Set<Path> whole = new HashSet<>(); // run directories listed entirely inside a scope
        Set<Path> listed = new HashSet<>();
        Set<Path> vanished = new HashSet<>();
        Set<Path> unscanned = new HashSet<>();
        // A place an earlier pass listed changed in its own entries (a save directly in a run directory or in the
        // root): its sub-directories that pass listed are not walked again, a change inside one is heard there.
        Set<Path> shallow = new HashSet<>();
        for (Path scope : scopes) {
            if (listedBefore.contains(scope)) {
                shallow.add(scope);
            }
        }
        for (Path scope : scopes) {
            Path start = scope;
            while (!start.equals(rootDir) && !listedBefore.contains(start)) {
                start = start.getParent();
            }
            Deque<Path> pending = new ArrayDeque<>();
            pending.push(start);
            while (!pending.isEmpty()) {
                Path dir = pending.pop();
                // Below the changed place everything counts; above it only the path leading down to it.
                boolean inside = dir.startsWith(scope);
                boolean ownEntries = shallow.contains(scope) && dir.equals(scope);
                try {
                    Listing listing = reader.list(dir);
                    if (ownEntries && dir.equals(rootDir) && listing.entries().isEmpty()) {
                        return null; // perhaps an unmounted file system: the full pass's checks decide
                    }
                    Cataloger.Findings f = ownEntries ? cataloger.examine(listing, reader, listedBefore::contains)
                            : cataloger.examine(listing, reader);
                    listed.add(dir);
                    if (inside) {
                        whole.add(dir);
                    }
                    for (Candidate c : f.candidates()) {
                        // A candidate below the place (a Lightning "epoch=0-val/loss=0.88.ckpt" is found by listing
                        // its run directory, above its own) belongs to it: left out, it would count as gone.
                        if (inside || scope.startsWith(c.path()) || c.path().startsWith(scope)) {
                            found.computeIfAbsent(c.runDir(), k -> new LinkedHashMap<>()).putIfAbsent(c.path(), c);
                        }
                    }
                    for (int i = f.descendInto().size() - 1; i >= 0; i--) {
                        Path sub = f.descendInto().get(i);
                        if ((inside || scope.startsWith(sub)) && !(ownEntries && listedBefore.contains(sub))) {
                            pending.push(sub);
                        }
                    }
                    if (ownEntries) {
                        // Listed before and no longer here: looked at, so that what it held is marked gone.
                        for (Path before : listedBefore) {
                            if (dir.equals(before.getParent()) && !listing.has(before.getFileName().toString())) {
                                pending.push(before);
                            }
                        }
                    }
                } catch (NoSuchFileException gone) {
                    vanished.add(dir);
                } catch (IOException | RuntimeException e) {
                    unscanned.add(dir);
                    problems.add(new ScanProblem(root.name(), dir, ErrorLine.reason(e)));
                } finally {
                    reader.forget(dir);
                }
            }
        }
        // The runs concerned: those found, and those remembered at or below a scope (they may have vanished).
        Set<Path> runDirs = new HashSet<>(found.keySet());
        for (Path r : memory.runs.keySet()) {
            for (Path scope : scopes) {
                if (shallow.contains(scope) ? r.equals(scope) || scope.startsWith(r) || below(r, vanished)
                        : r.startsWith(scope) || scope.startsWith(r)) {
                    runDirs.add(r);
                }
            }
        }
        int inspected = 0;
        int gone = 0;
        for (Path runDir : runDirs) {
            String run = Reconciler.runId(rootDir, runDir);
            Map<String, Registered> known = new HashMap<>();
            for (Registered c : registry.list(root.name(), run, false)) {
                known.put(c.key(), c);
            }
            List<Candidate> candidates = new ArrayList<>(found.getOrDefault(runDir, Map.of()).values());
            RunSettler.Settled settled = settler.settle(root, run, candidates, FileSource.LOCAL, known, settleTime, now,
                    memory.floor == null ? Instant.MIN : memory.floor, problems, true);
            inspected += settled.inspected();
            settled.checkpoints().forEach(c -> memory.raiseFloor(c.stateSince()));
            List<Registered> affected = new ArrayList<>();
            // (Every row of a run concerned lies at or below a scope, or is the checkpoint a scope is inside of.)
            for (Registered k : known.values()) {
                for (Path scope : scopes) {
                    if (k.path().startsWith(scope) || scope.startsWith(k.path())) {
                        affected.add(k);
                        break;
                    }
                }
            }
            gone += settler.markGone(affected, rootDir, settled.present(), unscanned, now);
            if (whole.contains(runDir) && !candidates.isEmpty()) {
                memory.runs.put(runDir, new RootMemory.Run(RootMemory.fingerprint(candidates), settled.stable()));
            } else {
                memory.runs.remove(runDir); // seen in part: the next full pass settles it whole
            }
        }
        Set<Path> examined = new HashSet<>(listedBefore);
        examined.addAll(listed);
        examined.removeAll(vanished);
        memory.examined = examined;
        if (!problems.isEmpty()) {
            log.info("root {}: {} problem(s) while scanning, e.g. {}", root.name(), problems.size(), problems.get(0));
        }
        return new RootScan(root.name(), rootDir, true, PresentRuns.registered(registry, root.name(), c -> true), problems,
                inspected, gone, reader.entriesRead(), Duration.ofNanos(System.nanoTime() - started));
    }

    private static boolean below(Path dir, Set<Path> places) {
        for (Path p : places) {
            if (dir.startsWith(p)) {
                return true;
            }
        }
        return false;
    }
}
