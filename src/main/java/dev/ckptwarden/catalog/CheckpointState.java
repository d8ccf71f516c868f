package dev.ckptwarden.catalog;

import java.util.Locale;

/**
 * Life-cycle state of a checkpoint. {@code WRITING}: still changing or its commit marker is missing;
 * {@code COMPLETE}: settled and intact; {@code CORRUPT}: settled but fails its format check;
 * {@code DELETED} and {@code OFFLOADED} are history kept by the registry.
 */
public enum CheckpointState {
    WRITING, COMPLETE, CORRUPT, DELETED, OFFLOADED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** True for states of a checkpoint that is still on the local disk. */
    public boolean present() {
        return this == WRITING || this == COMPLETE || this == CORRUPT;
    }

    public static CheckpointState fromId(String id) {
        return valueOf(id.toUpperCase(Locale.ROOT));
    }
}
