package dev.ckptwarden.registry;


import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The checkpoints present in a root, handed over one run at a time: what a pass plans retention from and
 * computes its gauges from, without holding every checkpoint of the root at once. Backed by the registry
 * (read again at each visit, a bounded batch of runs at a time) or, for a caller that already has them,
 * by a list in memory.
 *
 * <p>Runs come in {@code String} order of (root, run id); within a run, checkpoints come in the
 * registry's order ({@link #REGISTRY_ORDER}), as {@link Registry#list} returns them.
 */
public interface PresentRuns {

    /** Rows read per query, at most (a run larger than this is read alone): the bound on what one visit holds. */
    int BATCH_ROWS = 4096;

    /** The registry's order within a run: step, epoch, modification time (nulls first), name, path. */
    Comparator<Registered> REGISTRY_ORDER = Comparator
            .comparing(Registered::step, Comparator.nullsFirst(Comparator.<Long>naturalOrder()))
            .thenComparing(Registered::epoch, Comparator.nullsFirst(Comparator.<Integer>naturalOrder()))
            .thenComparing(Registered::modified, Comparator.nullsFirst(Comparator.<Instant>naturalOrder()))
            .thenComparing(Registered::name)
            .thenComparing(c -> c.path().toString());

    /** No checkpoints. */
    PresentRuns NONE = visitor -> {
    };

    /**
     * Calls {@code visitor} once per run with a present checkpoint, with that run's checkpoints (a list
     * the visitor may keep or let go of; never empty).
     */
    void forEachRun(Consumer<List<Registered>> visitor);

    /** Every checkpoint, runs one after another: for callers that need them all (a CLI listing, a test). */
    default List<Registered> all() {
        List<Registered> out = new ArrayList<>();
        forEachRun(out::addAll);
        return out;
    }

    /** Checkpoints already in memory, of one or several roots (taken as they are: the caller says they are present). */
    static PresentRuns of(Collection<Registered> checkpoints) {
        SortedMap<String, SortedMap<String, List<Registered>>> byRun = new TreeMap<>();
        for (Registered c : checkpoints) {
            byRun.computeIfAbsent(c.root(), r -> new TreeMap<>()).computeIfAbsent(c.run(), r -> new ArrayList<>()).add(c);
        }
        byRun.values().forEach(runs -> runs.values().forEach(list -> list.sort(REGISTRY_ORDER)));
        return visitor -> byRun.values().forEach(runs -> runs.values().forEach(list -> visitor.accept(List.copyOf(list))));
    }

    /**
     * A root's present checkpoints as the registry holds them at each visit.
     *
     * @param include which checkpoints belong (a pass leaves out those below directories it could not look at)
     */
    static PresentRuns registered(Registry registry, String root, Predicate<Registered> include) {
        return visitor -> {
            SortedMap<String, Integer> counts = registry.presentRunCounts(root);
            List<String> batch = new ArrayList<>();
            int rows = 0;
            for (Map.Entry<String, Integer> run : counts.entrySet()) {
                if (!batch.isEmpty() && rows + run.getValue() > BATCH_ROWS) {
                    visitBatch(registry, root, batch, include, visitor);
                    batch.clear();
                    rows = 0;
                }
                batch.add(run.getKey());
                rows += run.getValue();
            }
            if (!batch.isEmpty()) {
                visitBatch(registry, root, batch, include, visitor);
            }
        };
    }

    private static void visitBatch(Registry registry, String root, List<String> runs, Predicate<Registered> include,
                                   Consumer<List<Registered>> visitor) {
        Map<String, List<Registered>> byRun = new TreeMap<>();
        for (Registered c : registry.presentIn(root, runs)) {
            if (include.test(c)) {
                byRun.computeIfAbsent(c.run(), r -> new ArrayList<>()).add(c);
            }
        }
        for (String run : runs) {
            List<Registered> list = byRun.remove(run);
            if (list != null) {
                list.sort(REGISTRY_ORDER);
                visitor.accept(list);
            }
        }
    }
}
