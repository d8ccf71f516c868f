package dev.ckptwarden.catalog;

import java.time.Duration;
import java.time.Instant;

/**
 * The contract's completeness rule: complete only when the framework's own signal says so AND
 * nothing changed for {@code settle_time} AND the format check passes. Anything else is writing,
 * or corrupt once it has stopped changing.
 */
public final class StateJudge {
    /** Starts the note of a checkpoint that is writing only because it changed within the settle time. */
    public static final String SETTLING = "changed ";

    private StateJudge() {
    }

    /** True when a checkpoint waits for nothing but its settle time (a timer can complete it). */
    public static boolean settling(Checkpoint c) {
        return c.state() == CheckpointState.WRITING && c.note() != null && c.note().startsWith(SETTLING);
    }

    /** The state, and a short note saying why when it is not complete. */
    public record Judgement(CheckpointState state, String note) {
    }

    public static Judgement judge(Inspection inspection, Instant modified, Instant now, Duration settle) {
        if (inspection.inProgress() != null) {
            return new Judgement(CheckpointState.WRITING, inspection.inProgress());
        }
        // A modification time in the future (clock stepped back) also counts as "just changed".
        Duration quiet = Duration.between(modified, now);
        if (quiet.compareTo(settle) < 0) {
            return new Judgement(CheckpointState.WRITING, SETTLING + Math.max(0, quiet.toMillis() / 1000) + "s ago (settle time "
                    + settle.toSeconds() + "s)");
        }
        if (!inspection.problems().isEmpty()) {
            return new Judgement(CheckpointState.CORRUPT, String.join("; ", inspection.problems()));
        }
        return new Judgement(CheckpointState.COMPLETE, null);
    }
}
