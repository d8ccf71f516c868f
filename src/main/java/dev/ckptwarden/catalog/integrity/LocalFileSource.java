package dev.ckptwarden.catalog.integrity;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/** {@link FileSource#LOCAL}: plain java.nio calls, nothing in between. */
final class LocalFileSource implements FileSource {
    private static final LinkOption[] FOLLOW = {};
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    @Override
    public SeekableByteChannel open(Path file) throws IOException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new IOException("cannot read " + file + ": not a regular file");
        }
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    @Override
    public Kind typeOf(Path path, boolean followLinks) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, followLinks ? FOLLOW : NOFOLLOW);
        } catch (IOException e) {
            return null;
        }
        return a.isSymbolicLink() ? Kind.SYMLINK : a.isDirectory() ? Kind.DIRECTORY
                : a.isRegularFile() ? Kind.FILE : Kind.OTHER;
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        return Files.readSymbolicLink(link);
    }

    @Override
    public String toString() {
        return "local";
    }
}
