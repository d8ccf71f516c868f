package dev.ckptwarden.catalog;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * "Newer than" for the checkpoints of one run, as a total order that does not depend on input order.
 *
 * <p>Step and epoch are different units, and comparing each pair by "step if both have one, else
 * epoch, else modification time" is not transitive (three checkpoints can each be newer than the
 * next), which would make the result depend on the order the registry returned them in. So the order
 * is built in three passes, each a merge of already sorted sequences:
 * <ol>
 *   <li>checkpoints with a step, by step; equal steps (a resumed run restarting its step counter,
 *       Lightning's {@code -v1}/{@code -v2} duplicates) by modification time, newer is newer;</li>
 *   <li>checkpoints with an epoch but no step, by epoch, equal epochs by modification time;</li>
 *   <li>these two sequences merged as in merge sort: of the two heads the older goes first, by epoch
 *       when the stepped head has an epoch too, otherwise by modification time. So an epoch-only
 *       name beside step-only names is placed by modification time, and never reorders the
 *       step-only names among themselves;</li>
 *   <li>checkpoints with neither merged into that sequence by modification time.</li>
 * </ol>
 * Remaining ties (equal modification times) are broken by name, then path, so the order is total.
 */
public final class Recency {

    private static final Comparator<Checkpoint> BY_MODIFIED = Comparator.comparing(Checkpoint::modified)
            .thenComparing(Checkpoint::name)
            .thenComparing(c -> c.path().toString());

    private static final Comparator<Checkpoint> BY_STEP =
            Comparator.comparing(Checkpoint::step).thenComparing(BY_MODIFIED);

    private static final Comparator<Checkpoint> BY_EPOCH =
            Comparator.comparing(Checkpoint::epoch).thenComparing(BY_MODIFIED);

    private Recency() {
    }

    /** The checkpoints of one run, oldest first. */
    public static List<Checkpoint> oldestFirst(Collection<Checkpoint> checkpoints) {
        List<Checkpoint> stepped = new ArrayList<>();
        List<Checkpoint> epochOnly = new ArrayList<>();
        List<Checkpoint> bare = new ArrayList<>();
        for (Checkpoint c : checkpoints) {
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

    /** The checkpoints of one run, newest first. */
    public static List<Checkpoint> newestFirst(Collection<Checkpoint> checkpoints) {
        List<Checkpoint> order = oldestFirst(checkpoints);
        Collections.reverse(order);
        return order;
    }

    private static int steppedVersusEpochOnly(Checkpoint stepped, Checkpoint epochOnly) {
        if (stepped.epoch() != null) {
            int byEpoch = Integer.compare(stepped.epoch(), epochOnly.epoch());
            if (byEpoch != 0) {
                return byEpoch;
            }
        }
        return BY_MODIFIED.compare(stepped, epochOnly);
    }

    /** Merges two sequences each sorted oldest first; {@code older} compares a head of {@code a} with one of {@code b}. */
    private static List<Checkpoint> merge(List<Checkpoint> a, List<Checkpoint> b, Comparator<Checkpoint> older) {
        List<Checkpoint> out = new ArrayList<>(a.size() + b.size());
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
