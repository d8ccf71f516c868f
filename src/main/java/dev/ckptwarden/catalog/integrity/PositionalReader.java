package dev.ckptwarden.catalog.integrity;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Positional reads from one open file, never past the length it had when opened (a file that is
 * still being written must not change under a check). Counts the bytes it reads, so a test can
 * show that probing a multi-gigabyte file stays bounded.
 */
final class PositionalReader implements Closeable {

    /** The local file's channel (positional reads without moving a shared position), or null for a remote one. */
    private final FileChannel channel;
    /** A remote file's channel ({@link FileSource#open}), or null for a local one. */
    private final SeekableByteChannel other;
    private final long size;
    private long bytesRead;

    private PositionalReader(FileChannel channel, SeekableByteChannel other, long size) {
        this.channel = channel;
        this.other = other;
        this.size = size;
    }

    /** Opens {@code file} of {@code source}; the local source takes the same path as {@link #open(Path)}. */
    static PositionalReader open(FileSource source, Path file) throws IOException {
        if (source == FileSource.LOCAL) {
            return open(file);
        }
        SeekableByteChannel ch = source.open(file);
        try {
            return new PositionalReader(null, ch, ch.size());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    static PositionalReader open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new PositionalReader(ch, null, ch.size());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The file's length when it was opened. */
    long size() {
        return size;
    }

    /** Total bytes returned by {@link #read} so far. */
    long bytesRead() {
        return bytesRead;
    }

    /**
     * Reads up to {@code len} bytes at {@code pos}; fewer when the file ends first (an empty array
     * when {@code pos} is at or past the end).
     */
    byte[] read(long pos, int len) throws IOException {
        if (pos < 0 || len < 0) {
            throw new IllegalArgumentException("negative position or length");
        }
        if (pos >= size || len == 0) {
            return new byte[0];
        }
        int n = (int) Math.min(len, size - pos);
        if (channel == null) {
            byte[] b = FileSource.readAt(other, pos, n);
            bytesRead += b.length;
            return b;
        }
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            int r = channel.read(buf, pos + buf.position());
            if (r < 0) {
                break; // the file shrank while we read it
            }
        }
        bytesRead += buf.position();
        return buf.position() == n ? buf.array() : Arrays.copyOf(buf.array(), buf.position());
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        } else {
            other.close();
        }
    }
}
