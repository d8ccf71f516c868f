package dev.ckptwarden.fuzz;

import dev.ckptwarden.catalog.integrity.FileSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A {@link FileSource} whose files are byte arrays in memory: the fuzz targets hand a parser the same
 * positional reads a remote root gives it, thousands of times a second, without touching the disk.
 */
public final class MemoryFileSource implements FileSource {

    private final Map<Path, byte[]> files;

    public MemoryFileSource(Map<Path, byte[]> files) {
        this.files = Map.copyOf(files);
    }

    /** One file at {@code path} holding {@code bytes}. */
    public static MemoryFileSource of(Path path, byte[] bytes) {
        return new MemoryFileSource(Map.of(path, bytes));
    }

    @Override
    public SeekableByteChannel open(Path file) throws IOException {
        byte[] b = files.get(file);
        if (b == null) {
            throw new NoSuchFileException(file.toString());
        }
        return new Channel(b);
    }

    @Override
    public Kind typeOf(Path path, boolean followLinks) {
        return files.containsKey(path) ? Kind.FILE : null;
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        throw new IOException(link + ": not a symbolic link");
    }

    /** A read-only channel over an array. */
    private static final class Channel implements SeekableByteChannel {
        private final byte[] bytes;
        private long position;
        private boolean open = true;

        Channel(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read(ByteBuffer dst) {
            if (position >= bytes.length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), bytes.length - position);
            dst.put(bytes, (int) position, n);
            position += n;
            return n;
        }

        @Override
        public int write(ByteBuffer src) {
            throw new NonWritableChannelException();
        }

        @Override
        public long position() {
            return position;
        }

        @Override
        public SeekableByteChannel position(long newPosition) {
            if (newPosition < 0) {
                throw new IllegalArgumentException("negative position");
            }
            position = newPosition;
            return this;
        }

        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public SeekableByteChannel truncate(long size) {
            throw new NonWritableChannelException();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }
    }
}
