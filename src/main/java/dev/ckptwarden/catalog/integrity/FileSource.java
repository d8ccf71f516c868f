package dev.ckptwarden.catalog.integrity;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where the files of a listing are read from: the local disk ({@link #LOCAL}), or a remote root
 * reached through Commons VFS. Only what recognition needs: bounded reads at a position, small whole
 * reads, and a type check. Paths are the ones the listing named.
 */
public interface FileSource {
    /** The local file system through java.nio, exactly as the catalog always read it. */
    FileSource LOCAL = new LocalFileSource();

    /** What a path is, as far as recognition cares. */
    enum Kind { FILE, DIRECTORY, SYMLINK, OTHER }

    /**
     * Opens a file for reads at positions; {@code size()} is its length when opened.
     *
     * @throws IOException when it is not a regular file (a FIFO would block a reader), or cannot be opened
     */
    SeekableByteChannel open(Path file) throws IOException;

    /**
     * What the path is (following a final symbolic link only when asked), or null when it does not
     * exist or cannot be looked at.
     */
    Kind typeOf(Path path, boolean followLinks);

    /** The target of a symbolic link, as stored in the link. */
    Path readSymbolicLink(Path link) throws IOException;

    /**
     * Reads a small file whole: refuses one larger than {@code max} bytes rather than read it.
     *
     * @throws IOException naming the file when it is larger than {@code max}
     */
    default byte[] readSmall(Path file, long max) throws IOException {
        try (SeekableByteChannel ch = open(file)) {
            long size = ch.size();
            if (size > max) {
                throw new IOException(file.getFileName() + " is " + size + " bytes, too large for a metadata file");
            }
            return readAt(ch, 0, (int) size);
        }
    }

    /** Reads up to {@code len} bytes from the start of a file (fewer when it is shorter). */
    default byte[] readHead(Path file, int len) throws IOException {
        try (SeekableByteChannel ch = open(file)) {
            return readAt(ch, 0, (int) Math.min(len, ch.size()));
        }
    }

    /** Reads {@code len} bytes at {@code pos} in as few requests as the channel allows; fewer at the end of the file. */
    static byte[] readAt(SeekableByteChannel ch, long pos, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(len);
        ch.position(pos);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                break;
            }
        }
        return buf.position() == len ? buf.array() : Arrays.copyOf(buf.array(), buf.position());
    }
}
