package dev.ckptwarden.enforce;

import dev.ckptwarden.errors.ErrorLine;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which trash a local checkpoint's first phase renames it into: rename(2) cannot cross file systems,
 * so a checkpoint whose directory is on another device than the root goes into the trash of the topmost
 * directory between the root and it that is on its own file system (the mount point inside the root),
 * opened with {@link TrashBin#openAt} under the same rules as the root's. Each such trash is opened
 * (created if needed, locked) once per pass; one that cannot be made fails its checkpoints with one
 * line naming the boundary.
 */
final class FileSystemTrashes implements Closeable {
    private final RootDirectory dir;
    private final TrashBin rootTrash;
    private String rootDevice;
    /** The trash of each directory a checkpoint was looked up in (by its path relative to the root). */
    private final Map<Path, TrashBin> byParent = new HashMap<>();
    /** The trash of each mount point inside the root, by its path relative to the root. */
    private final Map<Path, TrashBin> opened = new LinkedHashMap<>();
    /** Why a mount point's trash cannot be made, so that its other checkpoints fail without trying again. */
    private final Map<Path, IOException> unavailable = new HashMap<>();

    FileSystemTrashes(RootDirectory dir, TrashBin rootTrash) {
        this.dir = dir;
        this.rootTrash = rootTrash;
    }

    /** The root's own trash. */
    TrashBin root() {
        return rootTrash;
    }

    /** The trash already chosen for the directory {@code parent}; the root's when none was. */
    TrashBin chosen(Path parent) {
        return byParent.getOrDefault(parent, rootTrash);
    }

    /**
     * The trash for checkpoints of the directory {@code parent} (relative to the root), open as {@code from}.
     *
     * @throws IOException one line naming the file system boundary when that file system's trash cannot
     *                     be made ({@link UntrustedTrashException} when one is there and not the agent's)
     */
    TrashBin forDirectory(Path parent, SecureDirectoryStream<Path> from) throws IOException {
        TrashBin known = byParent.get(parent);
        if (known != null) {
            return known;
        }
        String device = RootDirectory.device(from);
        if (device == null || device.equals(rootDevice())) {
            byParent.put(parent, rootTrash);
            return rootTrash;
        }
        Path mount = mountPoint(parent, device);
        TrashBin bin = opened.get(mount);
        if (bin == null) {
            IOException failed = unavailable.get(mount);
            if (failed != null) {
                throw failed;
            }
            try {
                bin = TrashBin.openAt(dir, mount, rootTrash.key());
            } catch (UntrustedTrashException | EnforcementBusyException refused) {
                unavailable.put(mount, refused);
                throw refused;
            } catch (IOException e) {
                Path at = dir.path().resolve(mount);
                IOException line = new IOException("another file system is mounted at " + at + " and its trash "
                        + TrashBin.DIR_NAME + " there cannot be made (" + ErrorLine.reason(e) + "): remount it read-write"
                        + " for the agent's user, or make it a root of its own with action: report", e);
                unavailable.put(mount, line);
                throw line;
            }
            opened.put(mount, bin);
        }
        byParent.put(parent, bin);
        return bin;
    }

    /**
     * A rename into {@code bin} that failed because it crossed a mount all the same (the same device
     * mounted twice: a bind mount inside the root) becomes one line that says so; other failures are
     * returned as they are.
     */
    IOException explain(IOException e, Path parent, TrashBin bin) {
        if (e instanceof FileSystemException fse && "Invalid cross-device link".equals(fse.getReason())) {
            return new IOException(dir.path().resolve(parent) + " is on another mount than the trash " + bin.path()
                    + " (a bind mount inside the root?) and cannot be renamed into it: make that mount point a root"
                    + " of its own", e);
        }
        return e;
    }

    /** The topmost directory between the root and {@code parent} that is on {@code device}, contiguously. */
    private Path mountPoint(Path parent, String device) throws IOException {
        Path mount = parent;
        for (int k = parent.getNameCount() - 1; k >= 1; k--) {
            Path up = parent.subpath(0, k);
            try (SecureDirectoryStream<Path> s = dir.openDirectory(up)) {
                if (!device.equals(RootDirectory.device(s))) {
                    break;
                }
            }
            mount = up;
        }
        return mount;
    }

    private String rootDevice() throws IOException {
        if (rootDevice == null) {
            rootDevice = RootDirectory.device(dir.stream());
        }
        return rootDevice;
    }

    /** Closes (and unlocks) the trashes of the mount points; the root's trash is its owner's to close. */
    @Override
    public void close() throws IOException {
        IOException failed = null;
        for (TrashBin bin : opened.values()) {
            try {
                bin.close();
            } catch (IOException e) {
                failed = e;
            }
        }
        opened.clear();
        if (failed != null) {
            throw failed;
        }
    }
}
