package dev.ckptwarden.enforce;

import java.nio.file.Path;

/** Hears an enforcement pass as it goes (progress output, metrics); the default hears nothing. */
public interface EnforcementListener {
    EnforcementListener NONE = new EnforcementListener() {
    };

    /** A member of {@code checkpoint} (its own name, or one file of a multi-file checkpoint) was renamed into the trash. */
    default void renamed(Path checkpoint, String member) {
    }

    /** One eviction is done, whatever its outcome. */
    default void finished(EnforcementReport.Item item) {
    }
}
