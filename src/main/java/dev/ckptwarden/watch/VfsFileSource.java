package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.errors.ErrorLine;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.NameScope;
import org.apache.commons.vfs2.RandomAccessContent;
import org.apache.commons.vfs2.provider.UriParser;
import org.apache.commons.vfs2.util.RandomAccessMode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The files of one remote root, read through Commons VFS: paths are the root's path form
 * ({@code sftp:/user@host/dir/...}, see {@link RemoteReconciler#rootPath}) mapped onto the root's
 * {@link FileObject}, never reaching outside it. Reads are positional through VFS random access
 * (ranged GETs for S3, offset reads for SFTP), so a header check reads the header, not the file.
 */
final class VfsFileSource implements FileSource {
    private final Path rootPath;
    private final FileObject root;

    VfsFileSource(Path rootPath, FileObject root) {
        this.rootPath = rootPath;
        this.root = root;
    }

    /** The file object at {@code path}, which must lie inside the root. */
    FileObject object(Path path) throws IOException {
        Path p = path.normalize();
        if (!p.startsWith(rootPath)) {
            throw new IOException(path + " is outside the remote root " + rootPath + "; refused");
        }
        FileObject fo = root;
        for (Path name : rootPath.relativize(p)) {
            String n = name.toString();
            if (n.isEmpty()) {
                continue;
            }
            fo = fo.resolveFile(UriParser.encode(n, new char[] {'#', '?', ' '}), NameScope.CHILD);
        }
        return fo;
    }

    @Override
    public SeekableByteChannel open(Path file) throws IOException {
        FileObject fo = object(file);
        RandomAccessContent content;
        try {
            if (!fo.isFile()) {
                throw new NoSuchFileException(file.toString(), null, fo.exists() ? "not a file" : "does not exist");
            }
            content = fo.getContent().getRandomAccessContent(RandomAccessMode.READ);
        } catch (FileSystemException e) {
            throw new IOException("cannot open " + file + ": " + ErrorLine.causes(e), e);
        }
        try {
            return new Channel(content, content.length());
        } catch (IOException | RuntimeException e) {
            content.close();
            throw e;
        }
    }

    @Override
    public Kind typeOf(Path path, boolean followLinks) {
        try {
            FileType t = object(path).getType();
            return t == FileType.FILE ? Kind.FILE : t == FileType.FOLDER ? Kind.DIRECTORY
                    : t == FileType.IMAGINARY ? null : Kind.OTHER;
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        // Listings of remote roots never name an entry a symbolic link (VFS does not report them).
        throw new IOException(link + ": symbolic links are not read on remote roots");
    }

    @Override
    public String toString() {
        return rootPath.toString();
    }

    /** A read-only channel over VFS random access; each read is one positioned read of exactly what fits the buffer. */
    private static final class Channel implements SeekableByteChannel {
        private final RandomAccessContent content;
        private final long size;
        private long position;
        private boolean open = true;

        Channel(RandomAccessContent content, long size) {
            this.content = content;
            this.size = size;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (position >= size) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), size - position);
            if (n == 0) {
                return 0;
            }
            byte[] b = new byte[n];
            content.seek(position);
            content.readFully(b);
            dst.put(b);
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
            position = newPosition;
            return this;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public SeekableByteChannel truncate(long s) {
            throw new NonWritableChannelException();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() throws IOException {
            open = false;
            content.close();
        }
    }
}
