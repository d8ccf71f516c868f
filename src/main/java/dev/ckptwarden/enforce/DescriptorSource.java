package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.offload.OffloadSource;
import dev.ckptwarden.offload.SourceEntry;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint's files as the offloader reads them during enforcement: through the descriptor of the
 * directory holding it and descriptors opened from there with {@code O_NOFOLLOW}, like every other
 * access the enforcer makes. A symbolic link or special file anywhere in it is refused, never followed.
 */
final class DescriptorSource implements OffloadSource, Closeable {
    private final SecureDirectoryStream<Path> parent;
    private final List<Path> names;
    private final Map<String, SecureDirectoryStream<Path>> dirs = new HashMap<>();

    DescriptorSource(SecureDirectoryStream<Path> parent, List<Path> names) {
        this.parent = parent;
        this.names = List.copyOf(names);
    }

    @Override
    public List<SourceEntry> entries() throws IOException {
        List<SourceEntry> out = new ArrayList<>();
        for (Path n : names) {
            walk(parent, n, n.toString(), out);
        }
        return out;
    }

    private void walk(SecureDirectoryStream<Path> dir, Path name, String rel, List<SourceEntry> out) throws IOException {
        BasicFileAttributes a = RootDirectory.lstat(dir, name);
        Entry.Type type = EntrySnapshot.typeOf(a);
        if (type == Entry.Type.SYMLINK || type == Entry.Type.OTHER) {
            throw new UnsafeSourceException(rel + " is " + (type == Entry.Type.SYMLINK ? "a symbolic link" : "a special file")
                    + "; not offloaded");
        }
        out.add(new SourceEntry(rel, type == Entry.Type.DIRECTORY, type == Entry.Type.DIRECTORY ? 0 : a.size(),
                a.lastModifiedTime().toMillis()));
        if (type != Entry.Type.DIRECTORY) {
            return;
        }
        SecureDirectoryStream<Path> sub;
        try {
            sub = RootDirectory.openChild(dir, name, name.getFileSystem().getPath(rel));
        } catch (UnsafePathException u) {
            throw new UnsafeSourceException(rel + ": " + u.getMessage());
        }
        dirs.put(rel, sub);
        List<Path> children = RootDirectory.names(sub, name.getFileSystem().getPath("."));
        children.sort(null);
        for (Path c : children) {
            walk(sub, c, rel + "/" + c, out);
        }
    }

    @Override
    public InputStream open(String path) throws IOException {
        int slash = path.lastIndexOf('/');
        SecureDirectoryStream<Path> dir = slash < 0 ? parent : dirs.get(path.substring(0, slash));
        if (dir == null) {
            throw new IOException(path + ": its directory was not listed");
        }
        Path name = names.get(0).getFileSystem().getPath(slash < 0 ? path : path.substring(slash + 1));
        return Channels.newInputStream(dir.newByteChannel(name, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)));
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SecureDirectoryStream<Path> d : dirs.values()) {
            try {
                d.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        dirs.clear();
        if (first != null) {
            throw first;
        }
    }
}
