package dev.ckptwarden.catalog;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which checkpoint of a run is newer. Training progress is the truth when every save of the run
 * carries it: steps when all have a step, else epochs when all have an epoch; otherwise modification
 * time. Choosing one key per run keeps the order total (mixing keys pairwise would not be transitive).
 * Ties (a resumed run restarting its step numbers, -v1/-v2 duplicates) go to the newer modification
 * time, then the name. Aliases (last.ckpt pointing at another save) do not vote on the key.
 */
public final class Recency {
    private Recency() {
    }

    /** The run's checkpoints ordered newest first. */
    public static List<Checkpoint> newestFirst(List<Checkpoint> run) {
        List<Checkpoint> sorted = new ArrayList<>(run);
        sorted.sort(comparator(run).reversed());
        return sorted;
    }

    /** An ascending (oldest first) comparator whose key is chosen from this run. */
    public static Comparator<Checkpoint> comparator(List<Checkpoint> run) {
        boolean allSteps = true;
        boolean allEpochs = true;
        for (Checkpoint c : run) {
            if (c.aliasOf() != null) {
                continue;
            }
            allSteps &= c.step() != null;
            allEpochs &= c.epoch() != null;
        }
        Comparator<Checkpoint> byTime = Comparator.comparing(Checkpoint::modified).thenComparing(Checkpoint::name);
        if (allSteps) {
            return Comparator.comparing((Checkpoint c) -> c.step() == null ? Long.MIN_VALUE : c.step()).thenComparing(byTime);
        }
        if (allEpochs) {
            return Comparator.comparing((Checkpoint c) -> c.epoch() == null ? Integer.MIN_VALUE : c.epoch()).thenComparing(byTime);
        }
        return byTime;
    }
}
