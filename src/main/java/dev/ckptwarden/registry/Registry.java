package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every checkpoint the agent has ever seen, with its history. Implementations: the embedded SQLite
 * database in {@code state_dir} and (for cluster mode) PostgreSQL. All methods are thread-safe.
 */
public interface Registry extends AutoCloseable {

    /** Checkpoints of a root whose state is present on disk (writing, complete, corrupt), keyed by path. */
    Map<String, Registered> present(String root);

    /**
     * Checkpoints matching a query, ordered by root, run, then (step, epoch, modified, name).
     *
     * @param root           a root name, or null for all
     * @param run            a run id, or null for all
     * @param includeHistory when false only present states are returned; when true deleted and offloaded too
     */
    List<Registered> list(String root, String run, boolean includeHistory);

    /**
     * How many checkpoints each run of a root has in a present state, by run id in {@code String} order:
     * what a pass needs to visit a root run by run ({@link PresentRuns}) without reading its rows.
     */
    default java.util.SortedMap<String, Integer> presentRunCounts(String root) {
        java.util.SortedMap<String, Integer> out = new java.util.TreeMap<>();
        present(root).values().forEach(c -> out.merge(c.run(), 1, Integer::sum));
        return out;
    }

    /** The latest state-since among a root's present checkpoints, or null when it has none. */
    default Instant latestStateSince(String root) {
        Instant latest = null;
        for (Registered c : present(root).values()) {
            if (c.stateSince() != null && (latest == null || c.stateSince().isAfter(latest))) {
                latest = c.stateSince();
            }
        }
        return latest;
    }

    /**
     * The arrivals and departures of a root's checkpoints (history included, aliases left out), in the
     * order of {@link #list}, each checkpoint's arrival before its departure: what a growth forecast reads,
     * without a {@link Registered} per row.
     */
    default List<SizeChange> sizeChanges(String root) {
        List<SizeChange> out = new java.util.ArrayList<>();
        for (Registered c : list(root, null, true)) {
            SizeChange.of(c, out);
        }
        return out;
    }

    /**
     * The signatures of one run's present checkpoints and whether each holds a settled verdict of its own:
     * enough for a pass to tell the run unchanged without reading its rows ({@link SettledRun}).
     */
    default SettledRun settledRun(String root, String run) {
        SettledRun.Builder b = new SettledRun.Builder();
        for (Registered c : list(root, run, false)) {
            b.add(c.key(), c.signature(), c.state(), c.aliasOf() != null, c.stateSince());
        }
        return b.build();
    }

    /**
     * Of the {@link #sizeChanges} of these roots: the sum of those before {@code from}, and how many fall from
     * {@code from} to {@code to} (both included). What a growth forecast needs before it reads the window
     * ({@link #sizeChanges(List, Instant, Instant, java.util.function.Consumer)}).
     */
    default SizeChange.Totals sizeChangeTotals(List<String> roots, Instant from, Instant to) {
        long before = 0;
        long inWindow = 0;
        for (String root : roots) {
            for (SizeChange c : sizeChanges(root)) {
                if (c.at().isBefore(from)) {
                    before += c.deltaBytes();
                } else if (!c.at().isAfter(to)) {
                    inWindow++;
                }
            }
        }
        return new SizeChange.Totals(before, inWindow);
    }

    /**
     * The {@link #sizeChanges} of these roots from {@code from} to {@code to} (both included), handed to
     * {@code each} one at a time in time order; at equal times in the order of {@code roots}, then of
     * {@link #sizeChanges(String)}. Nothing holds the whole history.
     */
    default void sizeChanges(List<String> roots, Instant from, Instant to, java.util.function.Consumer<SizeChange> each) {
        List<SizeChange> window = new java.util.ArrayList<>();
        for (String root : roots) {
            for (SizeChange c : sizeChanges(root)) {
                if (!c.at().isBefore(from) && !c.at().isAfter(to)) {
                    window.add(c);
                }
            }
        }
        window.sort(java.util.Comparator.comparing(SizeChange::at)); // stable: equal times keep their order
        window.forEach(each);
    }

    /** {@link #settledRun} of every run of a root with present checkpoints, by run id, in one read. */
    default Map<String, SettledRun> settledRuns(String root) {
        Map<String, SettledRun.Builder> runs = new java.util.HashMap<>();
        for (Registered c : present(root).values()) {
            runs.computeIfAbsent(c.run(), k -> new SettledRun.Builder())
                    .add(c.key(), c.signature(), c.state(), c.aliasOf() != null, c.stateSince());
        }
        return SettledRun.Builder.buildAll(runs);
    }

    /** The present checkpoints of these runs of a root, in no particular order. */
    default List<Registered> presentIn(String root, Collection<String> runs) {
        List<Registered> out = new java.util.ArrayList<>();
        for (String run : runs) {
            out.addAll(list(root, run, false));
        }
        return out;
    }

    /** The checkpoint registered at this absolute path (any state), if any. */
    Optional<Registered> byPath(String path);

    /** The checkpoints registered at these paths (any state), keyed by path; unknown paths are left out. */
    default Map<String, Registered> byPaths(Collection<String> paths) {
        Map<String, Registered> out = new java.util.HashMap<>();
        for (String p : paths) {
            byPath(p).ifPresent(c -> out.put(p, c));
        }
        return out;
    }

    /**
     * Inserts or replaces checkpoints in one transaction. {@code firstSeen} of an existing row is kept;
     * the pin of an existing row is kept (pins change only through {@link #pin}).
     */
    void upsert(Collection<Registered> checkpoints);

    /**
     * Records that checkpoints left the disk: state becomes {@code state} (DELETED or OFFLOADED),
     * with the time and a reason ("gone from disk", "policy", "quota", ...). Unknown paths are ignored.
     */
    void markGone(Collection<String> paths, CheckpointState state, Instant at, String reason);

    /** Pins or unpins; returns false when no checkpoint is registered at that path. */
    boolean pin(String path, boolean pinned, String reason);

    /** History events of one checkpoint, oldest first. */
    List<HistoryEvent> history(String path);

    /** Appends one history event (state change, eviction, pin...). */
    void recordEvent(HistoryEvent event);

    /**
     * A number that changes whenever another process or connection committed to the registry (a
     * {@code pin} from the command line beside the running agent). A caller that keeps its own view of
     * the registry may reuse it while this number stays the same. -1 when the implementation cannot
     * tell: then nothing may be cached.
     */
    default long externalChangeCounter() {
        return -1;
    }

    /** Whether no checkpoint at all (in any state) is registered: a new or lost database. */
    default boolean isEmpty() {
        return list(null, null, true).isEmpty();
    }

    /** The registry keys of pinned checkpoints (any state), with the pin's reason (null when none was given). */
    default Map<String, String> pinned() {
        Map<String, String> out = new java.util.HashMap<>();
        for (Registered c : list(null, null, true)) {
            if (c.pinned()) {
                out.put(c.key(), c.pinReason());
            }
        }
        return out;
    }

    /**
     * Why nothing may be deleted on this registry's word now (it was found empty beside a state
     * directory with history, and what it lost cannot be rebuilt), or empty when deleting is allowed.
     * Asked by enforcement before each batch.
     */
    default Optional<String> deletionHold() {
        return Optional.empty();
    }

    /**
     * A secret every agent sharing this registry sees, created from {@code proposed} by whichever agent
     * asks first (cluster mode: the key that authenticates trash manifests, so the agent that takes over
     * the lease can finish an eviction its predecessor left in a root's trash). Empty for a registry that
     * only one agent uses: its secrets stay in its {@code state_dir}.
     */
    default Optional<byte[]> sharedSecret(String name, byte[] proposed) {
        return Optional.empty();
    }

    @Override
    void close();
}
