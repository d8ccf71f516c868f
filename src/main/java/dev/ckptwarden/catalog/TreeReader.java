package dev.ckptwarden.catalog;


import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * Lists directories with one lstat per entry, never following symbolic links, and remembers each
 * listing for the rest of one pass so that looking ahead into a sub-directory and then descending
 * into it lists it once. Entries that cannot be handled safely are reported and skipped.
 *
 * <p>{@link #prefetch} lists sibling directories on all cores (a run directory's checkpoint-N/
 * directories): readdir and lstat are most of a walk. Problems are reported once, when a listing
 * is stored; a prefetch that fails stores nothing and leaves the error to the caller's own {@link #list}.
 */
public final class TreeReader implements DirectoryReader {
    private final Map<Path, Listing> cache = new ConcurrentHashMap<>();
    private final BiConsumer<Path, String> problems;
    private final AtomicLong entries = new AtomicLong();

    public TreeReader(BiConsumer<Path, String> problems) {
        this.problems = problems;
    }

    public long entriesRead() {
        return entries.get();
    }

    /** Forgets a listing once its directory is done, keeping memory bounded by the walk's frontier. */
    public void forget(Path dir) {
        cache.remove(dir);
    }

    @Override
    public Listing list(Path dir) throws IOException {
        Listing cached = cache.get(dir);
        if (cached != null) {
            return cached;
        }
        return read(dir);
    }

    @Override
    public void prefetch(List<Path> dirs) {
        if (dirs.size() < 2) {
            return;
        }
        dirs.parallelStream().forEach(dir -> {
            if (!cache.containsKey(dir)) {
                try {
                    read(dir);
                } catch (IOException | RuntimeException e) {
                    // list() meets the same problem again and reports it where the walk expects it
                }
            }
        });
    }

    private Listing read(Path dir) throws IOException {
        List<Entry> out = new ArrayList<>();
        List<Map.Entry<Path, String>> found = new ArrayList<>(0);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            SecureDirectoryStream<Path> secure = ds instanceof SecureDirectoryStream<Path> s ? s : null;
            for (Path child : ds) {
                Path fileName = child.getFileName();
                String name = fileName.toString();
                if (name.indexOf('\uFFFD') >= 0) {
                    // The JDK decodes names with the platform charset; a name that does not decode cannot be
                    // re-encoded to reach the same file, so it can be neither inspected nor safely deleted.
                    found.add(Map.entry(child, "file name is not valid in the platform charset; skipped"));
                    continue;
                }
                BasicFileAttributes a;
                try {
                    a = secure != null
                            ? secure.getFileAttributeView(fileName, BasicFileAttributeView.class,
                            LinkOption.NOFOLLOW_LINKS).readAttributes()
                            : Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (NoSuchFileException gone) {
                    continue; // vanished between readdir and stat: it is simply not there any more
                } catch (IOException e) {
                    found.add(Map.entry(child, "cannot stat: " + e.getMessage()));
                    continue;
                }
                Entry.Type type = a.isSymbolicLink() ? Entry.Type.SYMLINK
                        : a.isDirectory() ? Entry.Type.DIRECTORY
                        : a.isRegularFile() ? Entry.Type.FILE : Entry.Type.OTHER;
                out.add(new Entry(name, type, a.size(), a.lastModifiedTime().toMillis()));
            }
        }
        out.sort((x, y) -> x.name().compareTo(y.name()));
        Listing l = new Listing(dir, out);
        synchronized (this) {
            // Two threads may have listed the same directory: the first stored listing counts, once.
            Listing earlier = cache.putIfAbsent(dir, l);
            if (earlier != null) {
                return earlier;
            }
            entries.addAndGet(out.size());
            for (Map.Entry<Path, String> p : found) {
                problems.accept(p.getKey(), p.getValue());
            }
        }
        return l;
    }
}
