package dev.ckptwarden.policy;

import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code keep_every: {steps: N}} or {@code {epochs: N}}: checkpoints whose step (epoch) is a multiple
 * of N, step 0 included; reason {@code "milestone step 10000"} or {@code "milestone epoch 5"}.
 * A checkpoint without a step (epoch) is no milestone of that kind.
 */
final class MilestoneRule implements RetentionRule {

    /** Which counter a milestone is measured in. */
    enum Unit { STEP, EPOCH }

    private final Unit unit;
    private final long every;

    MilestoneRule(Unit unit, long every) {
        if (every <= 0) {
            throw new IllegalArgumentException("keep_every." + (unit == Unit.STEP ? "steps" : "epochs")
                    + " must be positive: " + every);
        }
        this.unit = unit;
        this.every = every;
    }

    @Override
    public Map<Path, Reason> keeps(List<Registered> candidates, Instant now) {
        Map<Path, Reason> kept = new LinkedHashMap<>();
        for (Registered c : candidates) {
            Long value = unit == Unit.STEP ? c.step() : c.epoch() == null ? null : Long.valueOf(c.epoch());
            if (value != null && value % every == 0) {
                kept.put(c.path(), Reason.milestone(unit == Unit.STEP ? "step" : "epoch", value));
            }
        }
        return kept;
    }
}
