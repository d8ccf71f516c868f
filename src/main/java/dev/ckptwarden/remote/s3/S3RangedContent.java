package dev.ckptwarden.remote.s3;

import org.apache.commons.vfs2.provider.AbstractRandomAccessContent;
import org.apache.commons.vfs2.util.RandomAccessMode;
import software.amazon.awssdk.core.exception.SdkException;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Read-only random access to one S3 object: each {@code readFully} is one ranged GET of exactly the
 * bytes asked for, so reading a header of a multi-gigabyte object transfers the header, not the object.
 */
final class S3RangedContent extends AbstractRandomAccessContent {
    private final S3FileObject file;
    private final long length;
    private long pointer;

    S3RangedContent(S3FileObject file, long length) {
        super(RandomAccessMode.READ);
        this.file = file;
        this.length = length;
    }

    @Override
    public long getFilePointer() {
        return pointer;
    }

    @Override
    public void seek(long pos) throws IOException {
        if (pos < 0) {
            throw new IOException("negative position " + pos + " in " + file.getName().getFriendlyURI());
        }
        pointer = pos;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public void setLength(long newLength) throws IOException {
        throw new IOException("S3 objects are read-only here: " + file.getName().getFriendlyURI());
    }

    @Override
    public void readFully(byte[] b) throws IOException {
        readFully(b, 0, b.length);
    }

    @Override
    public void readFully(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return;
        }
        if (pointer + len > length) {
            throw new EOFException(len + " bytes at " + pointer + " are past the end (" + length + ") of "
                    + file.getName().getFriendlyURI());
        }
        String range = "bytes=" + pointer + "-" + (pointer + len - 1);
        try (InputStream in = file.ranged(range)) {
            int n = in.readNBytes(b, off, len);
            if (n < len) {
                throw new EOFException("object " + file.getName().getFriendlyURI() + " ended after " + (pointer + n)
                        + " bytes, " + length + " expected (changed while read?)");
            }
        } catch (SdkException e) {
            throw new IOException("cannot read " + file.getName().getFriendlyURI() + ": " + S3UploadStream.message(e), e);
        }
        pointer += len;
    }

    @Override
    public int skipBytes(int n) {
        int skip = (int) Math.max(0, Math.min(n, length - pointer));
        pointer += skip;
        return skip;
    }

    private byte[] next(int n) throws IOException {
        byte[] b = new byte[n];
        readFully(b);
        return b;
    }

    @Override
    public boolean readBoolean() throws IOException {
        return readByte() != 0;
    }

    @Override
    public byte readByte() throws IOException {
        return next(1)[0];
    }

    @Override
    public int readUnsignedByte() throws IOException {
        return readByte() & 0xff;
    }

    @Override
    public short readShort() throws IOException {
        return ByteBuffer.wrap(next(2)).getShort();
    }

    @Override
    public int readUnsignedShort() throws IOException {
        return readShort() & 0xffff;
    }

    @Override
    public char readChar() throws IOException {
        return ByteBuffer.wrap(next(2)).getChar();
    }

    @Override
    public int readInt() throws IOException {
        return ByteBuffer.wrap(next(4)).getInt();
    }

    @Override
    public long readLong() throws IOException {
        return ByteBuffer.wrap(next(8)).getLong();
    }

    @Override
    public float readFloat() throws IOException {
        return ByteBuffer.wrap(next(4)).getFloat();
    }

    @Override
    public double readDouble() throws IOException {
        return ByteBuffer.wrap(next(8)).getDouble();
    }

    @Override
    public String readUTF() throws IOException {
        int n = readUnsignedShort();
        return new String(next(n), StandardCharsets.UTF_8);
    }

    /** The object from the current position to its end (one GET, streamed). */
    @Override
    public InputStream getInputStream() throws IOException {
        if (pointer >= length) {
            return InputStream.nullInputStream();
        }
        try {
            return file.ranged("bytes=" + pointer + "-");
        } catch (SdkException e) {
            throw new IOException("cannot read " + file.getName().getFriendlyURI() + ": " + S3UploadStream.message(e), e);
        }
    }

    @Override
    public void close() {
        // every read is its own request: nothing stays open
    }
}
