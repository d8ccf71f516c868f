package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.errors.ErrorLine;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.provider.UriParser;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Lists directories of a remote root through Commons VFS, one request per directory (SFTP {@code ls},
 * S3 LIST pages): names, types, sizes and modification times all come from the listing. Like
 * {@link dev.ckptwarden.catalog.TreeReader}, it remembers each listing for the rest of one pass.
 */
final class RemoteTreeReader implements DirectoryReader {
    private final VfsFileSource source;
    private final boolean folderTimes;
    private final BiConsumer<Path, String> problems;
    private final Map<Path, Listing> cache = new HashMap<>();
    private long entries;

    /**
     * @param folderTimes whether folders carry a modification time (SFTP) or are only key prefixes (S3)
     */
    RemoteTreeReader(VfsFileSource source, boolean folderTimes, BiConsumer<Path, String> problems) {
        this.source = source;
        this.folderTimes = folderTimes;
        this.problems = problems;
    }

    long entriesRead() {
        return entries;
    }

    void forget(Path dir) {
        cache.remove(dir);
    }

    @Override
    public Listing list(Path dir) throws IOException {
        Listing cached = cache.get(dir);
        if (cached != null) {
            return cached;
        }
        FileObject fo = source.object(dir);
        FileObject[] children;
        try {
            children = fo.getChildren();
        } catch (FileSystemException e) {
            if (!fo.exists()) {
                throw new NoSuchFileException(dir.toString());
            }
            throw new IOException(ErrorLine.causes(e), e);
        }
        List<Entry> out = new ArrayList<>(children.length);
        for (FileObject child : children) {
            String name = UriParser.decode(child.getName().getBaseName());
            try {
                FileType t = child.getType();
                if (t == FileType.IMAGINARY) {
                    continue; // gone between listing and looking
                }
                Entry.Type type = t == FileType.FOLDER ? Entry.Type.DIRECTORY : t == FileType.FILE ? Entry.Type.FILE
                        : Entry.Type.OTHER;
                long size = type == Entry.Type.FILE ? child.getContent().getSize() : 0;
                long mtime = type == Entry.Type.FILE || folderTimes ? child.getContent().getLastModifiedTime() : 0;
                out.add(new Entry(name, type, size, mtime));
                entries++;
            } catch (FileSystemException e) {
                problems.accept(dir.resolve(name), "cannot stat: " + ErrorLine.causes(e));
            }
        }
        out.sort((x, y) -> x.name().compareTo(y.name()));
        Listing l = new Listing(dir, out, source);
        cache.put(dir, l);
        return l;
    }
}
