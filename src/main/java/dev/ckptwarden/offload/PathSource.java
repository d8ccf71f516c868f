package dev.ckptwarden.offload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * A checkpoint read through plain paths: entries {@code names} of {@code dir} (one name for a file or
 * directory checkpoint, each member for a multi-file one). Links are never followed: one found is
 * refused. Enforcement reads through directory descriptors instead (see the enforcer); this is for
 * callers that own the directory.
 */
public final class PathSource implements OffloadSource {
    private final Path dir;
    private final List<String> names;

    public PathSource(Path dir, List<String> names) {
        this.dir = dir;
        this.names = List.copyOf(names);
    }

    @Override
    public List<SourceEntry> entries() throws IOException {
        List<SourceEntry> out = new ArrayList<>();
        for (String n : names) {
            add(n, out);
        }
        return out;
    }

    private void add(String rel, List<SourceEntry> out) throws IOException {
        Path p = dir.resolve(rel);
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (a.isSymbolicLink() || a.isOther()) {
            throw new UnsafeSourceException(p + " is " + (a.isSymbolicLink() ? "a symbolic link" : "a special file")
                    + "; not offloaded");
        }
        out.add(new SourceEntry(rel, a.isDirectory(), a.isDirectory() ? 0 : a.size(), a.lastModifiedTime().toMillis()));
        if (a.isDirectory()) {
            List<String> children = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                for (Path c : ds) {
                    children.add(c.getFileName().toString());
                }
            }
            children.sort(null);
            for (String c : children) {
                add(rel + "/" + c, out);
            }
        }
    }

    @Override
    public InputStream open(String path) throws IOException {
        return Files.newInputStream(dir.resolve(path), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    }
}
