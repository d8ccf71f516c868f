package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.time.Instant;

/** One line of a checkpoint's history: what happened, when, and why. */
public record HistoryEvent(String path, Instant at, String event, String detail) {
    /** First registered; the detail is the state it was found in. */
    public static final String SEEN = "seen";
    /** Registered again after it was deleted or offloaded; the detail starts with the state it came back in. */
    public static final String REAPPEARED = "reappeared";

    /**
     * Whether this event records the checkpoint becoming complete: a change of state to complete (the event is
     * the state's id), or being first seen or seen again already complete.
     */
    public boolean becameComplete() {
        String complete = CheckpointState.COMPLETE.id();
        return complete.equals(event)
                || ((SEEN.equals(event) || REAPPEARED.equals(event)) && detail != null && detail.startsWith(complete));
    }
}
