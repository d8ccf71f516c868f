package dev.ckptwarden.enforce;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * A root opened for deletion. Every directory below it is reached from the root's descriptor one
 * name at a time, each name lstat'ed and then opened with {@code O_NOFOLLOW} ({@code openat}), so a
 * symbolic link anywhere in the chain, or a directory swapped for one between the lstat and the
 * open, stops the walk instead of redirecting it. Operations on what the walk returns
 * ({@code renameat}, {@code unlinkat}) are relative to those descriptors, never to path strings.
 */
final class RootDirectory implements Closeable {
    static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private final Path path;
    private final SecureDirectoryStream<Path> stream;

    private RootDirectory(Path path, SecureDirectoryStream<Path> stream) {
        this.path = path;
        this.stream = stream;
    }

    /**
     * Opens a root. Links in the root's own configured path are resolved once here, to open its
     * descriptor; nothing below it is ever followed. Paths of checkpoints are spelled under the root
     * as it was configured ({@code /data} stays {@code /data} when it links to {@code /mnt/nvme0/data}),
     * so the root keeps that spelling for relativizing them; every operation goes through the descriptor.
     *
     * @throws SecureDeletionUnavailableException when the file system has no secure directory streams
     */
    static RootDirectory open(Path rootDir) throws IOException {
        Path real = rootDir.toRealPath();
        DirectoryStream<Path> ds = Files.newDirectoryStream(real);
        if (!(ds instanceof SecureDirectoryStream<Path> secure)) {
            ds.close();
            throw new SecureDeletionUnavailableException(real);
        }
        return new RootDirectory(rootDir.toAbsolutePath().normalize(), secure);
    }

    /** The root's path as it was configured (absolute, normalized; links in it not resolved). */
    Path path() {
        return path;
    }

    /** The root's own directory stream (opened once; do not iterate it, list through {@link #names}). */
    SecureDirectoryStream<Path> stream() {
        return stream;
    }

    /**
     * The names in a directory. Lists through a fresh descriptor of it ({@code "."}), since a
     * directory stream hands out its iterator only once.
     */
    static List<Path> names(SecureDirectoryStream<Path> dir, Path dot) throws IOException {
        List<Path> out = new ArrayList<>();
        try (SecureDirectoryStream<Path> again = dir.newDirectoryStream(dot, NOFOLLOW)) {
            for (Path p : again) {
                out.add(p.getFileName());
            }
        }
        return out;
    }

    /** A path of this root's file system with one name. */
    Path name(String name) {
        return path.getFileSystem().getPath(name);
    }

    /** lstat of the entry {@code name} of {@code dir}. */
    static BasicFileAttributes lstat(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        return dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
    }

    /**
     * The device ({@code st_dev}) of the directory open as {@code dir}, read from its descriptor; null
     * where the platform does not tell (then every directory counts as on the root's file system).
     */
    static String device(SecureDirectoryStream<Path> dir) throws IOException {
        Object key = dir.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
        // The JDK's Unix file key prints as "(dev=<hex>,ino=<n>)"; it offers st_dev in no other way
        // that works on a descriptor.
        String k = key == null ? "" : key.toString();
        int at = k.indexOf("dev=");
        int end = k.indexOf(',', at);
        return at < 0 || end < 0 ? null : k.substring(at + 4, end);
    }

    /**
     * Opens the directory {@code rel} (relative to the root; empty or null for the root itself) without
     * following any link. The caller closes the returned stream.
     *
     * @throws NoSuchFileException   when a directory of the chain does not exist
     * @throws UnsafePathException   when a name of the chain is a symbolic link, {@code ..} or {@code .}
     * @throws NotDirectoryException when a name of the chain is not a directory
     */
    SecureDirectoryStream<Path> openDirectory(Path rel) throws IOException {
        SecureDirectoryStream<Path> current = stream.newDirectoryStream(name("."), NOFOLLOW);
        if (rel == null || rel.toString().isEmpty()) {
            return current;
        }
        try {
            Path walked = null;
            for (Path n : rel) {
                walked = walked == null ? n : walked.resolve(n);
                SecureDirectoryStream<Path> next = openChild(current, n, walked);
                current.close();
                current = next;
            }
            return current;
        } catch (IOException | RuntimeException e) {
            current.close();
            throw e;
        }
    }

    /**
     * Opens the sub-directory {@code name} of {@code parent} without following a link.
     *
     * @param shown how to name it in errors (its path relative to the root)
     */
    static SecureDirectoryStream<Path> openChild(SecureDirectoryStream<Path> parent, Path name, Path shown)
            throws IOException {
        String n = name.toString();
        if (name.getNameCount() != 1 || n.equals("..") || n.equals(".") || n.isEmpty()) {
            throw new UnsafePathException(shown, "not a plain name below its directory");
        }
        BasicFileAttributes a = lstat(parent, name);
        if (a.isSymbolicLink()) {
            throw new UnsafePathException(shown, "symbolic link");
        }
        if (!a.isDirectory()) {
            throw new NotDirectoryException(shown.toString());
        }
        try {
            return parent.newDirectoryStream(name, NOFOLLOW);
        } catch (NoSuchFileException | AccessDeniedException | NotDirectoryException e) {
            throw e;
        } catch (FileSystemException e) {
            // O_NOFOLLOW refuses a link (ELOOP): it was swapped for one after the lstat above.
            if (lstat(parent, name).isSymbolicLink()) {
                throw new UnsafePathException(shown, "became a symbolic link while being opened");
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        stream.close();
    }
}
