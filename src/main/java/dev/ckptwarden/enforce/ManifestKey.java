package dev.ckptwarden.enforce;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * The secret that authenticates trash manifests: {@code <state_dir>/trash.key}, 32 random bytes,
 * created {@code 0600} and never opened through a link. A manifest line carries an HMAC-SHA256 of
 * its JSON under this key, so a manifest planted in a root's trash by anyone who cannot read the
 * state directory is refused instead of steering a move. The file is published whole (temporary file, fsync,
 * {@code link(2)}), so an agent killed during its first start never leaves a key that refuses every later start.
 */
public final class ManifestKey {
    /** The key file's name inside {@code state_dir}. */
    public static final String FILE_NAME = "trash.key";
    private static final int LENGTH = 32;
    private static final String ALGORITHM = "HmacSHA256";
    private static final String TEMP_INFIX = ".new-";
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ManifestKey.class);

    private final SecretKeySpec key;
    /**
     * One initialised HMAC per thread: looking the algorithm up and initialising it with the key cost more than
     * signing a manifest line (a batch of 1,024 evictions signs 1,024 lines); a {@link Mac} is not thread-safe.
     */
    private final ThreadLocal<Mac> macs;

    private ManifestKey(byte[] bytes) {
        this.key = new SecretKeySpec(bytes, ALGORITHM);
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac m = Mac.getInstance(ALGORITHM);
                m.init(key);
                return m;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(ALGORITHM + " unavailable", e);
            }
        });
    }

    /**
     * The key enforcement on {@code registry} signs and checks manifests with: the one every agent of a
     * shared (cluster) registry sees, so whichever agent holds the lease can finish what another left in
     * a trash; otherwise the state directory's own ({@link #open}).
     */
    public static ManifestKey forRegistry(dev.ckptwarden.registry.Registry registry, Path stateDir) throws IOException {
        byte[] fresh = new byte[LENGTH];
        new SecureRandom().nextBytes(fresh);
        java.util.Optional<byte[]> shared = registry.sharedSecret("trash-manifest-key", fresh);
        if (shared.isPresent()) {
            if (shared.get().length != LENGTH) {
                throw new IOException("the registry's trash-manifest-key is " + shared.get().length + " bytes, expected "
                        + LENGTH);
            }
            return new ManifestKey(shared.get());
        }
        return open(stateDir);
    }

    /**
     * Reads the state directory's key, creating it on first use.
     *
     * @throws IOException when the file is a link, not the agent's own, readable by others, or not a key
     */
    public static ManifestKey open(Path stateDir) throws IOException {
        Path file = stateDir.resolve(FILE_NAME);
        removeStaleTemporaries(stateDir);
        for (int attempt = 0; ; attempt++) {
            byte[] existing = readExisting(file);
            if (existing == null) {
                ManifestKey made = create(stateDir, file);
                if (made != null) {
                    return made;
                }
                continue; // another start published one first: read that
            }
            if (existing.length == 0 && attempt == 0) {
                // A key file with nothing in it is what a kill -9 left between creating it and writing it (before
                // keys were published by link). No manifest can have been signed with bytes never written, so a
                // new key loses nothing.
                log.warn("{}: empty (an earlier start was killed while creating it); making a new one", file);
                Files.delete(file);
                continue;
            }
            if (existing.length != LENGTH) {
                throw new IOException(file + ": not a manifest key (" + existing.length + " bytes, expected " + LENGTH
                        + "); remove it to have a new one made (interrupted evictions then stay in their trash)");
            }
            return new ManifestKey(existing);
        }
    }

    /** The key file's bytes (up to one more than a key), or {@code null} when there is none. */
    private static byte[] readExisting(Path file) throws IOException {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException none) {
            return null;
        }
        String why = AgentOwned.whyNot(file.getFileSystem(), a, true);
        if (why != null) {
            throw new IOException(file + ": refused: " + why);
        }
        ByteBuffer b = ByteBuffer.allocate(LENGTH + 1);
        try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            while (b.hasRemaining() && ch.read(b) > 0) {
                // read until full or end of file
            }
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /**
     * Writes a fresh key to a temporary file, forces it to disk, then publishes it with {@code link(2)}, which
     * never replaces an existing key: the key file is either absent or whole, whenever the agent is killed.
     * Returns {@code null} when another start published its key first.
     */
    private static ManifestKey create(Path stateDir, Path file) throws IOException {
        byte[] fresh = new byte[LENGTH];
        new SecureRandom().nextBytes(fresh);
        Path temp = stateDir.resolve(FILE_NAME + TEMP_INFIX + ProcessHandle.current().pid() + "-"
                + Long.toUnsignedString(new SecureRandom().nextLong(), 36));
        try {
            try (FileChannel ch = FileChannel.open(temp,
                    Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer b = ByteBuffer.wrap(fresh);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.createLink(file, temp);
            } catch (FileAlreadyExistsException lost) {
                return null;
            }
            forceDirectory(stateDir);
            return new ManifestKey(fresh);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Removes what a start killed before it published its key left behind. */
    private static void removeStaleTemporaries(Path stateDir) throws IOException {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(stateDir, FILE_NAME + TEMP_INFIX + "*")) {
            for (Path p : stale) {
                Files.deleteIfExists(p);
            }
        } catch (NoSuchFileException noStateDir) {
            // created by the first write below, or reported there
        }
    }

    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException notSupported) {
            // Some file systems cannot sync a directory; the link is then as durable as the file system makes it.
        }
    }

    /** The HMAC of {@code text} in lower-case hex. */
    public String sign(String text) {
        return HexFormat.of().formatHex(mac(text));
    }

    /** Whether {@code hex} is the HMAC of {@code text} under this key (constant time). */
    boolean verifies(String text, String hex) {
        byte[] given;
        try {
            given = HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException notHex) {
            return false;
        }
        return MessageDigest.isEqual(mac(text), given);
    }

    private byte[] mac(String text) {
        return macs.get().doFinal(text.getBytes(StandardCharsets.UTF_8)); // doFinal leaves it ready for the next text
    }
}
