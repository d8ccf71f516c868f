package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.time.Instant;
import java.util.Map;

/**
 * What a pass needs of one run's registered rows to tell that the run is unchanged on disk, without
 * reading the rows themselves: each present checkpoint's signature, whether every one of them holds a
 * settled verdict of its own (complete or corrupt, and no alias, whose verdict depends on its target),
 * and the latest state-since among them.
 *
 * @param signatures       present checkpoints of the run by key, to their signature
 * @param settled          every present checkpoint is complete or corrupt and none is an alias
 * @param latestStateSince the latest state-since among them, or null
 */
public record SettledRun(Map<String, String> signatures, boolean settled, Instant latestStateSince) {

    /** Reads one present row's columns (signature, state, alias, state-since) into a run's summary. */
    static final class Builder {
        private final Map<String, String> signatures = new java.util.HashMap<>();
        private boolean settled = true;
        private Instant latest;

        void add(String key, String signature, CheckpointState state, boolean alias, Instant stateSince) {
            signatures.put(key, signature);
            settled &= !alias && (state == CheckpointState.COMPLETE || state == CheckpointState.CORRUPT);
            if (stateSince != null && (latest == null || stateSince.isAfter(latest))) {
                latest = stateSince;
            }
        }

        SettledRun build() {
            return new SettledRun(signatures, settled, latest);
        }

        static Map<String, SettledRun> buildAll(Map<String, Builder> runs) {
            Map<String, SettledRun> out = new java.util.HashMap<>();
            runs.forEach((run, b) -> out.put(run, b.build()));
            return out;
        }
    }
}
