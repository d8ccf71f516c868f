package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One full pass over a root, run directory by run directory: each run's candidates are fingerprinted; an
 * unchanged, stable run is done with that; any other run is diffed against that run's registry rows,
 * settled and registered, and let go before the walk moves on. At the end, registered runs the walk did not
 * come across are marked deleted, and the root's checkpoints are read back from the registry for the caller.
 */
final class RootPass {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class); // the reconciler's lines keep its logger name

    private final Registry registry;
    private final RunSettler settler;
    private final RootConfig root;
    private final Path rootDir;
    private final FileSource source;
    private final RootMemory memory;
    private final Duration settleTime;
    private final Instant now;
    private final List<ScanProblem> problems;
    /** The first pass over a root reads the registry once instead of once per run; emptied as runs are settled. */
    private Map<String, Map<String, Checkpoint>> preloaded;
    /**
     * The root's registered checkpoints as that first read found them, while this pass has written nothing:
     * then {@link #finish} needs no second read of the root (a one-shot scan of an unchanged tree read it twice).
     */
    private Map<String, Checkpoint> unwritten;
    private final Set<String> visitedRuns = new HashSet<>();
    /** Registered checkpoints not found where the walk has yet to look (or could not): judged at the end. */
    private final List<Checkpoint> deferred = new ArrayList<>();
    private int inspected;
    private int gone;

    /** Whether the walk came across a run directory holding checkpoints (then the root's device is worth remembering). */
    boolean sawCheckpoints() {
        return !visitedRuns.isEmpty();
    }

    RootPass(Registry registry, RunSettler settler, RootConfig root, Path rootDir, FileSource source, RootMemory memory,
             Duration settleTime, Instant now, List<ScanProblem> problems) {
        this.registry = registry;
        this.settler = settler;
        this.root = root;
        this.rootDir = rootDir;
        this.source = source;
        this.memory = memory;
        this.settleTime = settleTime;
        this.now = now;
        this.problems = problems;
        if (memory.runs.isEmpty()) {
            preloaded = new HashMap<>();
            unwritten = registry.present(root.name());
            for (Checkpoint c : unwritten.values()) {
                preloaded.computeIfAbsent(c.run(), k -> new HashMap<>()).put(c.key(), c);
                memory.raiseFloor(c.stateSince());
            }
        }
    }

    /**
     * Settles the checkpoints one listed directory holds (all of one run directory).
     *
     * @param notYet directories the walk has still to look into (or could not): a registered checkpoint there
     *               is judged at the end of the pass, once it is known whether they could be looked at
     */
    void run(Path runDir, List<Candidate> candidates, Collection<Path> notYet) {
        if (candidates.isEmpty()) {
            return;
        }
        String run = Reconciler.runId(rootDir, runDir);
        visitedRuns.add(run);
        long fingerprint = RootMemory.fingerprint(candidates);
        RootMemory.Run before = memory.runs.get(runDir);
        if (before != null && before.stable() && before.fingerprint() == fingerprint) {
            return; // same files, settled verdicts: nothing the registry does not already say
        }
        Map<String, Checkpoint> known = rows(run);
        RunSettler.Settled settled = settler.settle(root, run, candidates, source, known, settleTime, now,
                memory.floor == null ? Instant.MIN : memory.floor, problems, true);
        inspected += settled.inspected();
        if (settled.registered()) {
            unwritten = null;
        }
        settled.checkpoints().forEach(c -> memory.raiseFloor(c.stateSince()));
        List<Checkpoint> missing = new ArrayList<>();
        for (Checkpoint k : known.values()) {
            if (!settled.present().contains(k.key())) {
                (RunSettler.shadowed(k, notYet) ? deferred : missing).add(k);
            }
        }
        int marked = settler.markGone(missing, rootDir, settled.present(), List.of(), now);
        if (marked > 0) {
            unwritten = null;
        }
        gone += marked;
        memory.runs.put(runDir, new RootMemory.Run(fingerprint, settled.stable()));
    }

    private Map<String, Checkpoint> rows(String run) {
        if (preloaded != null) {
            Map<String, Checkpoint> rows = preloaded.remove(run);
            return rows != null ? rows : Map.of();
        }
        Map<String, Checkpoint> rows = new HashMap<>();
        for (Checkpoint c : registry.list(root.name(), run, false)) {
            rows.put(c.key(), c);
        }
        return rows;
    }

    /**
     * Ends the pass: what is registered in runs the walk did not find is marked deleted (unless below a
     * directory that could not be listed, or the whole root came up empty and that is not to be trusted),
     * and the root's checkpoints are read back from the registry, less those the pass could not look at.
     *
     * @param distrustEmpty why an empty root may be an unmounted file system rather than emptied by hand
     *                      ({@link RootDevice#distrust}); null when its emptiness is to be trusted
     */
    RootScan finish(Set<Path> unscanned, long entries, long started, String distrustEmpty) {
        preloaded = null;
        Set<Path> notLookedAt = new HashSet<>(unscanned);
        // The first read still holds unless this pass wrote since, or another process may have (the counter
        // moved, or cannot be told: -1).
        long version = registry.externalChangeCounter();
        Map<String, Checkpoint> registered = unwritten != null && version != -1 && version == memory.version
                ? unwritten : registry.present(root.name());
        unwritten = null;
        List<Checkpoint> vanished = new ArrayList<>();
        for (Checkpoint d : deferred) {
            Checkpoint now = registered.get(d.key());
            if (now != null && now.run().equals(d.run())) {
                vanished.add(now); // not registered again under the run directory the walk found it in since
            }
        }
        for (Checkpoint c : registered.values()) {
            if (!visitedRuns.contains(c.run())) {
                vanished.add(c);
            }
        }
        boolean empty = entries == 0 && !registered.isEmpty();
        if (empty && distrustEmpty != null) {
            // An empty root that held checkpoints may be an unmounted file system (the mount point left bare)
            // rather than a user deleting everything: do not record a mass deletion on that evidence.
            problems.add(new ScanProblem(root.name(), rootDir, "root is empty but " + registered.size()
                    + " checkpoint(s) were registered there; not marking them deleted: " + distrustEmpty));
            log.warn("root {} ({}) is empty but {} checkpoint(s) were registered; not marking them deleted: {}",
                    root.name(), rootDir, registered.size(), distrustEmpty);
            notLookedAt.add(rootDir);
        } else if (empty) {
            // Still the file system its checkpoints were seen on: the last run was removed (rm -rf).
            gone += settler.markGone(vanished, rootDir, Set.of(), notLookedAt, now,
                    "gone from disk (root emptied; same file system as when seen)");
        } else {
            gone += settler.markGone(vanished, rootDir, Set.of(), notLookedAt, now);
        }
        List<Checkpoint> present = new ArrayList<>(registered.size());
        Set<String> vanishedKeys = new HashSet<>();
        vanished.forEach(c -> vanishedKeys.add(c.key()));
        for (Checkpoint c : registered.values()) {
            if (!RunSettler.shadowed(c, notLookedAt) && (!vanishedKeys.contains(c.key()))) {
                present.add(c);
            }
        }
        if (!problems.isEmpty()) {
            log.info("root {}: {} problem(s) while scanning, e.g. {}", root.name(), problems.size(), problems.get(0));
        }
        return new RootScan(root.name(), rootDir, true, present, problems, inspected, gone, entries,
                Duration.ofNanos(System.nanoTime() - started));
    }
}
