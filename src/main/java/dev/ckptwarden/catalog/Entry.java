package dev.ckptwarden.catalog;

import java.time.Instant;

/**
 * One directory entry as the walker saw it, without following symbolic links (one lstat).
 *
 * @param mtimeMillis modification time in milliseconds since the epoch
 */
public record Entry(String name, Type type, long size, long mtimeMillis) {

    /** What kind of file system object the entry is; symbolic links are never followed. */
    public enum Type { FILE, DIRECTORY, SYMLINK, OTHER }

    public boolean isFile() {
        return type == Type.FILE;
    }

    public boolean isDirectory() {
        return type == Type.DIRECTORY;
    }

    public boolean isSymlink() {
        return type == Type.SYMLINK;
    }

    public Instant modified() {
        return Instant.ofEpochMilli(mtimeMillis);
    }
}
