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

    /** The least grace a failed format check gets before it is a verdict; see {@link #corruptGrace}. */
    static final Duration MIN_GRACE = Duration.ofSeconds(60);

    /**
     * How long after {@code settle_time} a checkpoint that fails its format check stays {@code writing}
     * before it is {@code corrupt}: {@code max(settle_time, 60s)}. A save in progress pauses between
     * ranks and between files (DeepSpeed ranks finishing one by one, an optimizer state serialised
     * after the weights); judging it corrupt at the first quiet moment raised alerts that turned out
     * false a minute later, and flipped the state back and forth. Applied to any checkpoint that
     * changed that recently: such a checkpoint is its run's save in progress, whatever its step says.
     * A passed check is not delayed: complete still needs only the settle time.
     */
    public static Duration corruptGrace(Duration settle) {
        return settle.compareTo(MIN_GRACE) > 0 ? settle : MIN_GRACE;
    }

    /**
     * When a checkpoint that is writing only because it changed recently gets its next verdict: its last
     * change plus the settle time, plus the grace when it fails its format check.
     */
    public static Instant verdictDue(Checkpoint c, Duration settle) {
        Instant settled = c.modified().plus(settle);
        return c.problems().isEmpty() ? settled : settled.plus(corruptGrace(settle));
    }

    /** True when a checkpoint waits for nothing but its settle time (a timer can complete it). */
    public static boolean settling(CheckpointState state, String note) {
        return state == CheckpointState.WRITING && note != null && note.startsWith(SETTLING);
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
            Duration grace = corruptGrace(settle);
            if (quiet.compareTo(settle.plus(grace)) < 0) {
                return new Judgement(CheckpointState.WRITING, SETTLING + quiet.toSeconds() + "s ago and incomplete ("
                        + String.join("; ", inspection.problems()) + "); corrupt if still so " + settle.plus(grace).toSeconds()
                        + "s after its last change (settle time " + settle.toSeconds() + "s + grace " + grace.toSeconds() + "s)");
            }
            return new Judgement(CheckpointState.CORRUPT, String.join("; ", inspection.problems()));
        }
        return new Judgement(CheckpointState.COMPLETE, null);
    }
}
