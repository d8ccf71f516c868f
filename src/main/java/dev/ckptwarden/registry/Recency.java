package dev.ckptwarden.registry;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * "Newer than" for the checkpoints of one run: the one completed most recently is the newest (SPEC
 * "Retention semantics": a training job restarted from step 0 in the same directory makes its new
 * saves the newest, and of two saves of one step, as a resumed run overlaps the old one, the later).
 *
 * <p>A complete checkpoint's completion time is {@link Registered#stateSince()}: when the registry
 * first saw it complete, read from the agent's clock, which the reconciler never lets run backwards
 * against what it has recorded. The file's own modification time is not used first: it comes from the
 * clock of whichever machine wrote the file (a training node, an NFS server) and moves with a copy or
 * a {@code touch}. For anything not complete (writing, corrupt, offloaded) and as the tie-break (every
 * checkpoint found by one first scan was seen complete at the same instant) the modification time
 * decides; remaining ties fall back to the order of the names' counters ({@link #byCounters}), so the
 * order is total and does not depend on the order the registry listed them in.
 */
public final class Recency {

    private static final Comparator<Registered> BY_MODIFIED = Comparator.comparing(Registered::modified)
            .thenComparing(Registered::name)
            .thenComparing(c -> c.path().toString());

    private static final Comparator<Registered> BY_STEP =
            Comparator.comparing(Registered::step).thenComparing(BY_MODIFIED);

    private static final Comparator<Registered> BY_EPOCH =
            Comparator.comparing(Registered::epoch).thenComparing(BY_MODIFIED);

    private Recency() {
    }

    /** When a checkpoint counts as completed for "newest": see the class comment. */
    public static java.time.Instant completed(Registered c) {
        return c.isComplete() && c.stateSince() != null ? c.stateSince() : c.modified();
    }

    /** The checkpoints of one run, oldest first. */
    public static List<Registered> oldestFirst(Collection<Registered> checkpoints) {
        List<Registered> byCounters = byCounters(checkpoints);
        java.util.Map<Registered, Integer> rank = new java.util.IdentityHashMap<>();
        for (int i = 0; i < byCounters.size(); i++) {
            rank.put(byCounters.get(i), i);
        }
        List<Registered> out = new ArrayList<>(byCounters);
        out.sort(Comparator.comparing(Recency::completed).thenComparing(Registered::modified)
                .thenComparing(rank::get));
        return out;
    }

    /** The checkpoints of one run, newest first. */
    public static List<Registered> newestFirst(Collection<Registered> checkpoints) {
        List<Registered> order = oldestFirst(checkpoints);
        Collections.reverse(order);
        return order;
    }

    /**
     * The order of the counters in the names, oldest first, as a total order (the tie-break above).
     * Step and epoch are different units, and comparing each pair by "step if both have one, else
     * epoch, else modification time" is not transitive, so the order is built in passes, each a merge
     * of sorted sequences: checkpoints with a step by step (equal steps by modification time); those
     * with an epoch but no step by epoch; the two merged as in merge sort (by epoch when the stepped
     * head has one, else by modification time); those with neither merged in by modification time.
     * Remaining ties are broken by name, then path.
     */
    static List<Registered> byCounters(Collection<Registered> checkpoints) {
        List<Registered> stepped = new ArrayList<>();
        List<Registered> epochOnly = new ArrayList<>();
        List<Registered> bare = new ArrayList<>();
        for (Registered c : checkpoints) {
            if (c.step() != null) {
                stepped.add(c);
            } else if (c.epoch() != null) {
                epochOnly.add(c);
            } else {
                bare.add(c);
            }
        }
        stepped.sort(BY_STEP);
        epochOnly.sort(BY_EPOCH);
        bare.sort(BY_MODIFIED);
        return merge(merge(stepped, epochOnly, Recency::steppedVersusEpochOnly), bare, BY_MODIFIED);
    }

    private static int steppedVersusEpochOnly(Registered stepped, Registered epochOnly) {
        if (stepped.epoch() != null) {
            int byEpoch = Integer.compare(stepped.epoch(), epochOnly.epoch());
            if (byEpoch != 0) {
                return byEpoch;
            }
        }
        return BY_MODIFIED.compare(stepped, epochOnly);
    }

    /** Merges two sequences each sorted oldest first; {@code older} compares a head of {@code a} with one of {@code b}. */
    private static List<Registered> merge(List<Registered> a, List<Registered> b, Comparator<Registered> older) {
        List<Registered> out = new ArrayList<>(a.size() + b.size());
        int i = 0;
        int j = 0;
        while (i < a.size() && j < b.size()) {
            if (older.compare(a.get(i), b.get(j)) <= 0) {
                out.add(a.get(i++));
            } else {
                out.add(b.get(j++));
            }
        }
        out.addAll(a.subList(i, a.size()));
        out.addAll(b.subList(j, b.size()));
        return out;
    }
}
