package dev.ckptwarden.registry;

import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;

/**
 * sqlite-jdbc's native library, kept unpacked in a per-user cache directory. Left to itself, sqlite-jdbc
 * unpacks its 1.1 MB library from the jar into the temporary directory on every start, reads it back to
 * compare, and scans the temporary directory for stale copies: about 100 ms of every one-shot command.
 *
 * <p>The cached copy is named by the jar entry's CRC-32 and size, is checked against both before each use,
 * and is used only from a directory owned by this user that nobody else can write; anything unexpected
 * (no such directory, a read-only home, a platform the jar has no library for, a failed load) leaves
 * sqlite-jdbc to its own way, so the cache can only make a start faster, never make it fail.
 */
public final class SqliteNativeLibrary {
    private static final Set<PosixFilePermission> WRITABLE_BY_OTHERS =
            Set.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);

    private SqliteNativeLibrary() {
    }

    /**
     * Loads sqlite-jdbc's library from {@code cacheDir} (unpacking it there first if needed) and points
     * sqlite-jdbc at it. Call before the first database connection; does nothing when the user set
     * {@code org.sqlite.lib.path} himself.
     *
     * @return the library file loaded, or empty when sqlite-jdbc is left to unpack its own copy
     */
    public static Optional<Path> useCachedCopy(Path cacheDir) {
        if (System.getProperty("org.sqlite.lib.path") != null) {
            return Optional.empty();
        }
        try {
            Path dir = privateDirectory(cacheDir);
            if (dir == null) {
                return Optional.empty();
            }
            String resource = resourcePath(dir);
            URL url = SQLiteJDBCLoader.class.getResource(resource);
            if (url == null || !"jar".equals(url.getProtocol())) {
                return Optional.empty();
            }
            long size;
            long crc;
            JarURLConnection entry = (JarURLConnection) url.openConnection();
            entry.setUseCaches(false);
            try {
                JarEntry e = entry.getJarEntry();
                size = e.getSize();
                crc = e.getCrc();
            } finally {
                entry.getJarFile().close();
            }
            if (size < 0 || crc < 0) {
                return Optional.empty();
            }
            String hex = Long.toHexString(crc);
            Path library = dir.resolve("0".repeat(8 - hex.length()) + hex + "-" + size + "-" + LibraryLoaderUtil.getNativeLibName());
            if (!isCopy(library, size, crc)) {
                unpack(url, dir, library, size, crc);
            }
            System.load(library.toString());
            System.setProperty("org.sqlite.lib.path", dir.toString());
            System.setProperty("org.sqlite.lib.name", library.getFileName().toString());
            // sqlite-jdbc deletes stale unpacked copies from its temporary directory at each start; with the
            // library cached it unpacks none, so let it look in this small directory instead of all of /tmp.
            System.setProperty("org.sqlite.tmpdir", dir.toString());
            return Optional.of(library);
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            return Optional.empty();
        }
    }

    /**
     * Where the jar keeps the library for this platform. sqlite-jdbc finds out by running {@code uname -o}
     * (a process start on every run: 10 ms idle, far more on a loaded machine), so the answer is kept beside
     * the library, keyed by the jar (location, size, time) and by os.name and os.arch; a wrong answer (a home
     * shared by glibc and musl machines) only makes the load fail, and sqlite-jdbc then unpacks its own copy.
     */
    private static String resourcePath(Path dir) throws IOException {
        String name = LibraryLoaderUtil.getNativeLibName();
        Path memo = null;
        try {
            java.security.CodeSource source = SQLiteJDBCLoader.class.getProtectionDomain().getCodeSource();
            if (source != null && "file".equals(source.getLocation().getProtocol())) {
                Path jar = Path.of(source.getLocation().toURI());
                java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(jar,
                        java.nio.file.attribute.BasicFileAttributes.class);
                String key = jar + "\n" + a.size() + "\n" + a.lastModifiedTime().toMillis() + "\n"
                        + System.getProperty("os.name") + "\n" + System.getProperty("os.arch");
                CRC32 h = new CRC32();
                h.update(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                memo = dir.resolve("resource-" + Long.toHexString(h.getValue()) + "-" + key.length());
                if (isPrivateFile(memo)) {
                    String remembered = Files.readString(memo).trim();
                    if (remembered.startsWith("/org/sqlite/native/") && remembered.endsWith("/" + name)) {
                        return remembered;
                    }
                }
            }
        } catch (java.net.URISyntaxException | IllegalArgumentException | java.nio.file.NoSuchFileException e) {
            memo = null;
        }
        String resource = LibraryLoaderUtil.getNativeLibResourcePath() + "/" + name;
        if (memo != null) {
            Path part = Files.createTempFile(dir, ".resource-", ".part",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                Files.writeString(part, resource + "\n", StandardOpenOption.TRUNCATE_EXISTING);
                Files.move(part, memo, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(part);
            }
        }
        return resource;
    }

    private static boolean isPrivateFile(Path file) throws IOException {
        try {
            PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return a.isRegularFile() && ownedByMe(a) && !hasAny(a.permissions());
        } catch (java.nio.file.NoSuchFileException absent) {
            return false;
        }
    }

    /** The cache directory, created private if missing; null unless only this user can write it. */
    private static Path privateDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return a.isDirectory() && ownedByMe(a) && !hasAny(a.permissions()) ? dir : null;
    }

    private static boolean ownedByMe(PosixFileAttributes a) {
        return a.owner().getName().equals(System.getProperty("user.name"));
    }

    private static boolean hasAny(Set<PosixFilePermission> permissions) {
        for (PosixFilePermission p : WRITABLE_BY_OTHERS) {
            if (permissions.contains(p)) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code file} is a private regular file with exactly the jar entry's size and CRC-32. */
    static boolean isCopy(Path file, long size, long crc) throws IOException {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException absent) {
            return false;
        }
        if (!a.isRegularFile() || a.size() != size || !ownedByMe(a) || hasAny(a.permissions())) {
            return false;
        }
        CRC32 sum = new CRC32();
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 16);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            while (ch.read(buffer) > 0) {
                buffer.flip();
                sum.update(buffer);
                buffer.clear();
            }
        }
        return sum.getValue() == crc;
    }

    /** Writes the jar entry to a private temporary file beside {@code library}, checks it, and renames it into place. */
    private static void unpack(URL url, Path dir, Path library, long size, long crc) throws IOException {
        Path part = Files.createTempFile(dir, ".unpacking-", ".part",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false);
            try (InputStream in = connection.getInputStream();
                 java.io.OutputStream out = Files.newOutputStream(part, StandardOpenOption.TRUNCATE_EXISTING)) {
                in.transferTo(out);
            }
            if (!isCopy(part, size, crc)) {
                throw new IOException("unpacked " + part + " does not match its jar entry");
            }
            Files.move(part, library, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(part);
        }
    }
}
