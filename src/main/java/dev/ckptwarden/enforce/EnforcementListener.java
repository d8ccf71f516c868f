package dev.ckptwarden.enforce;

import java.nio.file.Path;

/** Hears an enforcement pass as it goes (progress output, metrics); the default hears nothing. */
public interface EnforcementListener {
    EnforcementListener NONE = new EnforcementListener() {
    };

    /** A member of {@code checkpoint} (its own name, or one file of a multi-file checkpoint) was renamed into the trash. */
    default void renamed(Path checkpoint, String member) {
    }

    /**
     * A batch of {@code evictions} reached {@code point} of the deletion protocol. The crash tests stop a process
     * exactly there.
     */
    default void reached(BatchPoint point, int evictions) {
    }

    /** Where a batch of the deletion protocol has got to. */
    enum BatchPoint {
        /**
         * About to be checked against the stop and the lease; nothing of it is written yet. The previous batch's
         * items may not all be reported yet: its purge can still be running.
         */
        STARTING,
        /** Its begin lines and its manifest are on disk; nothing of it has moved yet. */
        BEGINS_DURABLE,
        /** Every move of it is done and the registry told; its end lines are not written yet. */
        MOVED,
        /** Its end lines are on disk; its purge has not started. */
        ENDS_DURABLE
    }

    /** One eviction is done, whatever its outcome. */
    default void finished(EnforcementReport.Item item) {
    }
}
