package dev.ckptwarden.export;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The filesystem a directory lives on, as the {@code mount} label names it: its mount point (found by
 * walking up while the {@link FileStore} stays the same), its size and the bytes an unprivileged
 * process can still write (usable space: blocks reserved for root do not help a training job).
 */
public record MountUsage(String mount, long sizeBytes, long freeBytes) {

    /**
     * Reads the filesystem of {@code dir}; a directory that does not exist yet is judged by its nearest
     * existing ancestor, where it will be created.
     *
     * @throws IOException when not even an ancestor can be read
     */
    public static MountUsage of(Path dir) throws IOException {
        Path existing = dir.toAbsolutePath().normalize();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            throw new IOException("no existing directory above " + dir);
        }
        Path real = existing.toRealPath();
        FileStore store = Files.getFileStore(real);
        Path mount = real;
        for (Path parent = real.getParent(); parent != null; parent = parent.getParent()) {
            FileStore above;
            try {
                above = Files.getFileStore(parent);
            } catch (IOException e) {
                break; // an unreadable ancestor is above the mount we can see
            }
            if (!above.equals(store)) {
                break;
            }
            mount = parent;
        }
        return new MountUsage(mount.toString(), store.getTotalSpace(), store.getUsableSpace());
    }
}
