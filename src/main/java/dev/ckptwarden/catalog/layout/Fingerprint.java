package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.integrity.FileSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The content fingerprint of a checkpoint file, used to tell a copy from a different file of the same size. */
final class Fingerprint {
    private static final int FINGERPRINT_SPAN = 64 * 1024;

    private Fingerprint() {
    }

    /** The first and last 64 KiB of a file hashed: cheap, and zip central directories carry every entry's CRC. */
    static String of(FileSource source, Path file, long size) throws IOException {
        if (source == FileSource.LOCAL) {
            return of(file, size);
        }
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
        try (var ch = source.open(file)) {
            md.update(FileSource.readAt(ch, 0, (int) Math.min(FINGERPRINT_SPAN, Math.max(size, 1))));
            if (size > FINGERPRINT_SPAN) {
                md.update(FileSource.readAt(ch, Math.max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN), FINGERPRINT_SPAN));
            }
        }
        md.update(Long.toString(size).getBytes(StandardCharsets.US_ASCII));
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /** The first and last 64 KiB of a local file hashed (not following a symbolic link). */
    static String of(Path file, long size) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
                java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            java.security.MessageDigest md;
            try {
                md = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException ex) {
                throw new IllegalStateException(ex);
            }
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) Math.min(FINGERPRINT_SPAN, Math.max(size, 1)));
            readAt(ch, buf, 0);
            md.update(buf.flip());
            if (size > FINGERPRINT_SPAN) {
                buf.clear();
                readAt(ch, buf, Math.max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN));
                md.update(buf.flip());
            }
            md.update(Long.toString(size).getBytes(StandardCharsets.US_ASCII));
            return java.util.HexFormat.of().formatHex(md.digest());
        }
    }

    private static void readAt(java.nio.channels.FileChannel ch, java.nio.ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                break;
            }
            pos += n;
        }
    }
}
