package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Aliases;
import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Recognised;
import dev.ckptwarden.catalog.Recognition;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.Future;

/**
 * Brings the registry in line with the checkpoints found in one run directory: inspects what is new or
 * changed (on the reconciler's inspector threads), judges, resolves aliases, registers, and marks what
 * vanished from the run as deleted. Holds nothing between runs but the name parsers per pattern set.
 */
final class RunSettler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class); // the reconciler's lines keep its logger name

    private final Registry registry;
    private final ExecutorService inspectors;
    private final Map<String, NameParser> parsers = new ConcurrentHashMap<>();
    /**
     * Checkpoints whose modification time is ahead of the clock (it stepped back after their last write), by
     * key: their signature and when this settler first saw it. Such a time cannot say how long the files have
     * been quiet, and waiting for the clock to catch up kept a finished save writing for as long as the step
     * (an hour for an hour), so it completed after saves written later and ranked as the newest of its run
     * (Recency): keep_last evicted a save it should keep. The agent's own observation measures the quiet
     * instead: unchanged for the settle time since first seen. Only checkpoints ahead of the clock are held,
     * and only while they are; after a restart they are seen afresh (later, never too early).
     */
    private final Map<String, Seen> ahead = new ConcurrentHashMap<>();

    private record Seen(String signature, Instant at) {
    }

    /**
     * Threads that read checkpoint headers, at most one per core (up to 4); created when a pass needs one and
     * ended after a minute idle, so an idle agent keeps none.
     */
    static ThreadPoolExecutor newInspectors() {
        int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        ThreadPoolExecutor inspectors = new ThreadPoolExecutor(threads, threads, 60, java.util.concurrent.TimeUnit.SECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "ckpt-warden-inspect");
                    t.setDaemon(true);
                    return t;
                });
        inspectors.allowCoreThreadTimeOut(true);
        return inspectors;
    }

    RunSettler(Registry registry, ExecutorService inspectors) {
        this.registry = registry;
        this.inspectors = inspectors;
    }

    /**
     * What settling a run found.
     *
     * @param stable true when nothing in the run can change without its files changing: every checkpoint is
     *               complete or corrupt and every inspection succeeded (no settle timer, nothing to retry)
     * @param registered true when the registry was written (something new or changed was registered)
     */
    record Settled(List<Registered> checkpoints, Set<String> present, int inspected, boolean stable, boolean registered) {
    }

    /**
     * @param known  the run's registered checkpoints by key
     * @param floor  the latest state-since the root has registered: a state reached now never looks older
     * @param record false to judge only, registering nothing
     */
    Settled settle(RootConfig root, String run, List<Candidate> candidates, FileSource source,
                   Map<String, Registered> known, Duration settleTime, Instant now, Instant floor, List<ScanProblem> problems, boolean record) {
        List<Recognised> result = new ArrayList<>(candidates.size());
        List<Recognised> changed = new ArrayList<>();
        Set<String> present = new HashSet<>();
        int inspected = 0;
        boolean stable = true;
        for (Registered k : known.values()) {
            if (k.stateSince() != null && k.stateSince().isAfter(floor)) {
                floor = k.stateSince();
            }
        }
        // Header reads of new or changed checkpoints are independent of each other: on a first scan they are
        // most of the work, so they run on the inspector threads; everything else stays in order.
        Map<Candidate, Future<Inspection>> inspections = new IdentityHashMap<>();
        Set<Path> here = new HashSet<>();
        for (Candidate c : candidates) {
            here.add(c.path());
        }
        for (Candidate c : candidates) {
            if (!reusable(known.get(c.path().toString()), c, here)) {
                inspections.put(c, inspectors.submit(c.inspector()::inspect));
            }
        }
        NameParser names = namesFor(root);
        for (Candidate c : candidates) {
            String key = c.path().toString();
            Registered prev = known.get(key);
            Recognised found;
            Future<Inspection> pending = inspections.get(c);
            if (pending == null) {
                found = prev.recognised();
            } else {
                Inspection ins;
                try {
                    ins = await(pending);
                    inspected++;
                } catch (NoSuchFileException vanished) {
                    continue;
                } catch (IOException | RuntimeException e) {
                    problems.add(new ScanProblem(root.name(), c.path(), "cannot inspect: " + ErrorLine.reason(e)));
                    stable = false; // tried again on the next pass
                    if (prev != null) {
                        present.add(key); // keep what we knew rather than forget it
                        result.add(prev.recognised());
                    }
                    continue;
                }
                if (ins.notACheckpoint() != null) {
                    continue;
                }
                // One String per run for every checkpoint of it (the previous row's when it is the same).
                String runId = prev != null && run.equals(prev.run()) ? prev.run() : run;
                found = Recognition.checkpoint(root.name(), runId, c, ins, names, now, settleTime,
                        changed(key, c, now, record));
                if (found.state() == CheckpointState.COMPLETE || found.state() == CheckpointState.CORRUPT) {
                    ahead.remove(key); // a verdict: not inspected again unless it changes, and then seen afresh
                }
                changed.add(found);
                if (found.state() == CheckpointState.CORRUPT && (prev == null || prev.state() != CheckpointState.CORRUPT)) {
                    // Once per verdict: an unchanged corrupt checkpoint is not judged again, and the registry
                    // remembers the verdict across restarts.
                    log.warn("checkpoint {} is corrupt: {}", c.path(), found.note());
                }
            }
            present.add(key);
            result.add(found);
        }
        Map<String, Checkpoint> knownFacts = new HashMap<>();
        known.forEach((k, row) -> knownFacts.put(k, row.facts()));
        Aliases.resolve(source, result, changed, knownFacts);
        List<Registered> rows = new ArrayList<>(result.size());
        List<Registered> registering = rows(changed, known, now, floor);
        Map<Recognised, Registered> rowOf = new IdentityHashMap<>();
        for (int i = 0; i < changed.size(); i++) {
            rowOf.put(changed.get(i), registering.get(i));
        }
        for (Recognised f : result) {
            Registered row = rowOf.get(f);
            rows.add(row != null ? row : known.get(f.key())); // unchanged: the registry's row as it is
            stable &= f.state() == CheckpointState.COMPLETE || f.state() == CheckpointState.CORRUPT;
        }
        boolean registered = record && !registering.isEmpty();
        if (registered) {
            registry.upsert(registering);
            if (log.isDebugEnabled()) {
                for (Registered c : registering) {
                    log.debug("registered {} ({}{})", c.path(), c.state().id(), c.note() == null ? "" : ": " + c.note());
                }
            }
        }
        return new Settled(rows, present, inspected, stable, registered);
    }

    /**
     * The rows for what was found new or changed: each merged into the row registered at its path (which keeps
     * its pin, and its times while nothing changed them).
     */
    private static List<Registered> rows(List<Recognised> changed, Map<String, Registered> known, Instant now, Instant floor) {
        List<Registered> out = new ArrayList<>(changed.size());
        for (Recognised f : changed) {
            Registered prev = known.get(f.key());
            Registered row = Registered.merge(f, prev, now);
            if (row.stateSince() != null && row.stateSince().isBefore(floor)
                    && (prev == null || !row.stateSince().equals(prev.stateSince()))) {
                // The clock went back: a state reached now must not look older than one recorded before,
                // or a fresh save would rank below older ones and become evictable (Recency).
                row = row.withHistory(row.firstSeen(), floor.plusNanos(1));
            }
            out.add(row);
        }
        return out;
    }

    /**
     * Marks deleted what was registered but is not present now, except below a directory that could not be
     * looked at this time (not evidence of deletion) and outside the root.
     *
     * @return how many were marked
     */
    int markGone(Collection<Registered> known, Path rootDir, Set<String> present, Collection<Path> unscanned, Instant now) {
        return markGone(known, rootDir, present, unscanned, now, "gone from disk");
    }

    /** As {@link #markGone(Collection, Path, Set, Collection, Instant)}, with the note the rows are marked with. */
    int markGone(Collection<Registered> known, Path rootDir, Set<String> present, Collection<Path> unscanned, Instant now,
                 String note) {
        List<String> gone = new ArrayList<>();
        for (Registered prev : known) {
            if (!present.contains(prev.key()) && !shadowed(prev, unscanned) && prev.path().startsWith(rootDir)) {
                gone.add(prev.key());
            }
        }
        if (!gone.isEmpty()) {
            gone.forEach(ahead::remove);
            registry.markGone(gone, CheckpointState.DELETED, now, note);
        }
        return gone.size();
    }

    static boolean shadowed(Registered prev, Collection<Path> unscanned) {
        for (Path u : unscanned) {
            if (prev.path().startsWith(u)) {
                return true;
            }
        }
        return false;
    }

    NameParser namesFor(RootConfig root) {
        return parsers.computeIfAbsent(String.join("\u0000", root.patterns()), k -> {
            try {
                return NameParser.withPatterns(root.patterns());
            } catch (IllegalArgumentException e) {
                return NameParser.standard(); // validated at load time; defensive only
            }
        });
    }

    /**
     * When a candidate last changed for its settle time: its modification time, or when its content was first
     * seen if that time is ahead of {@code now} (see {@link #ahead}). A judging-only settle does not remember.
     */
    private Instant changed(String key, Candidate c, Instant now, boolean record) {
        Instant modified = Instant.ofEpochMilli(c.modifiedMillis());
        if (!modified.isAfter(now)) {
            ahead.remove(key);
            return modified;
        }
        Seen seen = ahead.get(key);
        if (seen == null || !seen.signature().equals(c.signature())) {
            seen = new Seen(c.signature(), now);
            if (record) {
                ahead.put(key, seen);
            }
        }
        return seen.at();
    }

    /**
     * Unchanged since a settled verdict (same sizes and times): no need to read its headers again. Except an
     * alias whose target is not among the run's checkpoints now, or was not when it was judged: a link does not
     * change when what it names is removed or written again, so its verdict is only as good as its target's
     * presence (a {@code last.ckpt} left dangling by a deletion must not stay "complete, resumable").
     */
    private static boolean reusable(Registered prev, Candidate c, Set<Path> here) {
        if (prev == null || !c.signature().equals(prev.signature())
                || (prev.state() != CheckpointState.COMPLETE && prev.state() != CheckpointState.CORRUPT)) {
            return false;
        }
        return prev.aliasOf() == null || (here.contains(prev.aliasOf()) && prev.state() == CheckpointState.COMPLETE);
    }

    private static Inspection await(Future<Inspection> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading headers", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }
}
