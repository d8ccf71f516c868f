package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Opens a local root's trash directory for {@link TrashBin}: created {@code 0700} when absent, refused
 * ({@link UntrustedTrashException}) when it is a link, not owned by the agent's user, or writable by
 * group or others, and locked ({@code <trash>/.lock}) so that two passes never work on one root at once.
 */
final class TrashDirectory {
    private TrashDirectory() {
    }

    /** The opened trash and its held lock. */
    record Locked(SecureDirectoryStream<Path> trash, FileChannel lockChannel, FileLock lock) {
    }

    /**
     * @throws EnforcementBusyException when another pass holds the lock
     * @throws UntrustedTrashException  when the trash is a link, another user's, or writable by others
     */
    static Locked openLocked(RootDirectory root, String dirName, String lockName) throws IOException {
        return openLocked(root.stream(), root.path(), dirName, lockName);
    }

    /**
     * Opens the trash {@code dirName} of the directory {@code base} (a root, or the mount point of
     * another file system inside one), shown as {@code shownBase} in messages.
     *
     * @throws EnforcementBusyException when another pass holds the lock
     * @throws UntrustedTrashException  when the trash is a link, another user's, or writable by others
     */
    static Locked openLocked(SecureDirectoryStream<Path> base, Path shownBase, String dirName, String lockName)
            throws IOException {
        Path name = shownBase.getFileSystem().getPath(dirName);
        Path shown = shownBase.resolve(dirName);
        SecureDirectoryStream<Path> trash;
        try {
            trash = openTrusted(base, name, shown);
        } catch (NoSuchFileException absent) {
            try {
                Files.createDirectory(shown, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException raced) {
                // Someone created it first; the open below checks whose it is.
            }
            // Created by path (there is no mkdirat here): if a name on the way was swapped for a link
            // meanwhile, the directory lands elsewhere, and the open through base's descriptor below
            // finds none or checks whose it is.
            trash = openTrusted(base, name, shown);
        }
        FileChannel lockChannel = null;
        try {
            lockChannel = (FileChannel) trash.newByteChannel(shownBase.getFileSystem().getPath(lockName),
                    Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                throw new EnforcementBusyException(shown.resolve(lockName));
            }
            return new Locked(trash, lockChannel, lock);
        } catch (IOException | RuntimeException e) {
            if (lockChannel != null) {
                lockChannel.close();
            }
            trash.close();
            throw e;
        }
    }

    /**
     * Opens the trash without following a link and checks, on the opened descriptor (so a swap after
     * the check changes nothing), that only the agent's user can have written it.
     */
    private static SecureDirectoryStream<Path> openTrusted(SecureDirectoryStream<Path> base, Path name, Path shown)
            throws IOException {
        SecureDirectoryStream<Path> trash;
        try {
            trash = RootDirectory.openChild(base, name, shown);
        } catch (UnsafePathException link) {
            throw new UntrustedTrashException(shown, "a symbolic link");
        }
        try {
            PosixFileAttributes a = trash.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
            String why = AgentOwned.whyNot(shown.getFileSystem(), a, false);
            if (why != null) {
                throw new UntrustedTrashException(shown, why);
            }
            return trash;
        } catch (IOException | RuntimeException e) {
            trash.close();
            throw e;
        }
    }
}
