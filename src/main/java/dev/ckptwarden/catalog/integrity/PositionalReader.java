package dev.ckptwarden.catalog.integrity;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Positional reads from one open file, never past the length it had when opened (a file that is
 * still being written must not change under a check). Counts the bytes it reads, so a test can
 * show that probing a multi-gigabyte file stays bounded.
 */
final class PositionalReader implements Closeable {

    private final FileChannel channel;
    private final long size;
    private long bytesRead;

    private PositionalReader(FileChannel channel, long size) {
        this.channel = channel;
        this.size = size;
    }

    static PositionalReader open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new PositionalReader(ch, ch.size());
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
        channel.close();
    }
}
