package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SettledRun;
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
import java.util.SortedMap;

/**
 * One full pass over a root, run directory by run directory: each run's candidates are fingerprinted; an
 * unchanged, stable run is done with that; any other run is diffed against that run's registry rows,
 * settled and registered, and let go before the walk moves on. At the end, registered runs the walk did not
 * come across are marked deleted, and the root's checkpoints are read back from the registry for the caller.
 */
final class RootPass {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class); // the reconciler's lines keep its logger name

    /** Roots with at most this many registered checkpoints are read whole on the first pass (one query). */
    static final int PRELOAD_MAX = 8192;

    private final Registry registry;
    private final RunSettler settler;
    private final RootConfig root;
    private final Path rootDir;
    private final FileSource source;
    private final RootMemory memory;
    private final Duration settleTime;
    private final Instant now;
    private final List<ScanProblem> problems;
    /**
     * The first pass over a small root reads what it needs to tell each run unchanged ({@link SettledRun}) once
     * for the root instead of once per run; emptied as runs are settled. A root of more than {@link #PRELOAD_MAX}
     * checkpoints is read run by run instead, so that no pass holds every checkpoint of a large root at once.
     * Rows themselves are read only for a run that is not unchanged.
     */
    private Map<String, SettledRun> preloaded;
    private final Set<String> visitedRuns = new HashSet<>();
    /** Registered checkpoints not found where the walk has yet to look (or could not): judged at the end. */
    private final List<Registered> deferred = new ArrayList<>();
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
            int registered = registry.presentRunCounts(root.name()).values().stream().mapToInt(Integer::intValue).sum();
            if (registered <= PRELOAD_MAX) {
                preloaded = registered == 0 ? new HashMap<>() : new HashMap<>(registry.settledRuns(root.name()));
                preloaded.values().forEach(r -> memory.raiseFloor(r.latestStateSince()));
            } else {
                // The floor is the whole root's: a state reached now never looks older than any registered.
                memory.raiseFloor(registry.latestStateSince(root.name()));
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
        SettledRun registered = preloaded != null ? preloaded.remove(run) : registry.settledRun(root.name(), run);
        if (registered != null && unchanged(registered, candidates)) {
            // What settling would conclude without reading a row: every checkpoint reused as registered,
            // nothing registered, nothing gone, the run stable.
            memory.runs.put(runDir, new RootMemory.Run(fingerprint, true));
            return;
        }
        Map<String, Registered> known = registered == null || registered.signatures().isEmpty() ? new HashMap<>() : rows(run);
        RunSettler.Settled settled = settler.settle(root, run, candidates, source, known, settleTime, now,
                memory.floor == null ? Instant.MIN : memory.floor, problems, true);
        inspected += settled.inspected();
        settled.checkpoints().forEach(c -> memory.raiseFloor(c.stateSince()));
        List<Registered> missing = new ArrayList<>();
        for (Registered k : known.values()) {
            if (!settled.present().contains(k.key())) {
                (RunSettler.shadowed(k, notYet) ? deferred : missing).add(k);
            }
        }
        gone += settler.markGone(missing, rootDir, settled.present(), List.of(), now);
        memory.runs.put(runDir, new RootMemory.Run(fingerprint, settled.stable()));
    }

    /**
     * Whether settling the run would reuse every registered row as it is: the same checkpoints as registered,
     * each with its registered signature and a settled verdict of its own (see {@code RunSettler.reusable}).
     * Raises the floor as settling would have.
     */
    private boolean unchanged(SettledRun registered, List<Candidate> candidates) {
        if (!registered.settled() || registered.signatures().size() != candidates.size()) {
            return false;
        }
        for (Candidate c : candidates) {
            if (!c.signature().equals(registered.signatures().get(c.path().toString()))) {
                return false;
            }
        }
        memory.raiseFloor(registered.latestStateSince());
        return true;
    }

    private Map<String, Registered> rows(String run) {
        Map<String, Registered> rows = new HashMap<>();
        for (Registered c : registry.list(root.name(), run, false)) {
            rows.put(c.key(), c);
        }
        return rows;
    }

    /**
     * Ends the pass: what is registered in runs the walk did not find is marked deleted (unless below a
     * directory that could not be listed, or the whole root came up empty and that is not to be trusted).
     * The scan's checkpoints are the registry's present rows of the root, less those the pass could not look
     * at, visited run by run when asked for ({@link PresentRuns}): nothing here holds the whole root.
     *
     * @param distrustEmpty why an empty root may be an unmounted file system rather than emptied by hand
     *                      ({@link RootDevice#distrust}); null when its emptiness is to be trusted
     */
    RootScan finish(Set<Path> unscanned, long entries, long started, String distrustEmpty) {
        preloaded = null;
        Set<Path> notLookedAt = new HashSet<>(unscanned);
        SortedMap<String, Integer> counts = registry.presentRunCounts(root.name());
        int registered = counts.values().stream().mapToInt(Integer::intValue).sum();
        boolean empty = entries == 0 && registered > 0;
        if (empty && distrustEmpty != null) {
            // An empty root that held checkpoints may be an unmounted file system (the mount point left bare)
            // rather than a user deleting everything: do not record a mass deletion on that evidence.
            problems.add(new ScanProblem(root.name(), rootDir, "root is empty but " + registered
                    + " checkpoint(s) were registered there; not marking them deleted: " + distrustEmpty));
            log.warn("root {} ({}) is empty but {} checkpoint(s) were registered; not marking them deleted: {}",
                    root.name(), rootDir, registered, distrustEmpty);
            notLookedAt.add(rootDir);
        } else {
            // An empty root still on the file system its checkpoints were seen on: its last run was removed (rm -rf).
            gone += markVanished(counts, notLookedAt, empty ? "gone from disk (root emptied; same file system as when seen)"
                    : "gone from disk");
        }
        if (!problems.isEmpty()) {
            log.info("root {}: {} problem(s) while scanning, e.g. {}", root.name(), problems.size(), problems.get(0));
        }
        // A checkpoint of a run the walk did not find that is registered outside this root directory (the root
        // moved) is not marked deleted, nor reported present.
        Set<String> visited = visitedRuns;
        PresentRuns present = PresentRuns.registered(registry, root.name(), c -> !RunSettler.shadowed(c, notLookedAt)
                && (visited.contains(c.run()) || c.path().startsWith(rootDir)));
        return new RootScan(root.name(), rootDir, true, present, problems, inspected, gone, entries,
                Duration.ofNanos(System.nanoTime() - started));
    }

    /**
     * Marks deleted what the walk did not find: registered checkpoints of runs it did not come across (read a
     * batch of runs at a time), and those it deferred that are still registered under the run they were in.
     */
    private int markVanished(SortedMap<String, Integer> counts, Set<Path> notLookedAt, String note) {
        int marked = 0;
        if (!deferred.isEmpty()) {
            List<String> keys = deferred.stream().map(Registered::key).toList();
            Map<String, Registered> now = registry.byPaths(keys);
            List<Registered> vanished = new ArrayList<>();
            for (Registered d : deferred) {
                Registered c = now.get(d.key());
                if (c != null && c.state().present() && root.name().equals(c.root()) && c.run().equals(d.run())) {
                    vanished.add(c); // not registered again under the run directory the walk found it in since
                }
            }
            marked += settler.markGone(vanished, rootDir, Set.of(), notLookedAt, this.now, note);
        }
        List<String> batch = new ArrayList<>();
        int rows = 0;
        for (Map.Entry<String, Integer> run : counts.entrySet()) {
            if (visitedRuns.contains(run.getKey())) {
                continue;
            }
            batch.add(run.getKey());
            rows += run.getValue();
            if (rows >= PresentRuns.BATCH_ROWS) {
                marked += settler.markGone(registry.presentIn(root.name(), batch), rootDir, Set.of(), notLookedAt, now, note);
                batch.clear();
                rows = 0;
            }
        }
        if (!batch.isEmpty()) {
            marked += settler.markGone(registry.presentIn(root.name(), batch), rootDir, Set.of(), notLookedAt, now, note);
        }
        return marked;
    }
}
