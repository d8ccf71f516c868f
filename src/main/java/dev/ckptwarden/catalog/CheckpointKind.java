package dev.ckptwarden.catalog;

import java.util.Locale;

/** Whether a checkpoint is one file (or a group of sibling files) or one directory. */
public enum CheckpointKind {
    FILE, DIRECTORY;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static CheckpointKind fromId(String id) {
        return valueOf(id.toUpperCase(Locale.ROOT));
    }
}
