package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * One entry of a directory as it is now, read through the directory's descriptor without following
 * links; for a directory, a summary of everything inside it.
 *
 * @param bytes          a file's size; for a directory the sum of the regular files inside it
 * @param modifiedMillis a file's mtime; for a directory the newest mtime of anything inside it (0 when empty)
 * @param contents       for a directory, the catalog's signature over everything inside it; null otherwise
 */
record EntrySnapshot(String name, Entry.Type type, long bytes, long modifiedMillis, String contents) {

    /**
     * Reads the entry {@code name} of {@code dir}.
     *
     * @throws NoSuchFileException when it does not exist
     */
    static EntrySnapshot read(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        BasicFileAttributes a = RootDirectory.lstat(dir, name);
        Entry.Type type = typeOf(a);
        if (type != Entry.Type.DIRECTORY) {
            return new EntrySnapshot(name.toString(), type, a.size(), a.lastModifiedTime().toMillis(), null);
        }
        List<Entry> inside = new ArrayList<>();
        try (SecureDirectoryStream<Path> sub = RootDirectory.openChild(dir, name, name)) {
            collect(sub, "", inside);
        }
        inside.sort((x, y) -> x.name().compareTo(y.name()));
        long bytes = 0;
        long newest = Long.MIN_VALUE;
        for (Entry e : inside) {
            bytes += e.isFile() ? e.size() : 0;
            newest = Math.max(newest, e.mtimeMillis());
        }
        return new EntrySnapshot(name.toString(), type, bytes, newest == Long.MIN_VALUE ? 0 : newest, signature(inside));
    }

    static Entry.Type typeOf(BasicFileAttributes a) {
        return a.isSymbolicLink() ? Entry.Type.SYMLINK
                : a.isDirectory() ? Entry.Type.DIRECTORY
                : a.isRegularFile() ? Entry.Type.FILE : Entry.Type.OTHER;
    }

    /**
     * Everything inside a directory the way the catalog lists a directory checkpoint: names relative
     * to it joined by '/', directories with size 0, links listed and never followed, names the
     * platform charset cannot decode left out (the catalog leaves them out too).
     */
    private static void collect(SecureDirectoryStream<Path> dir, String prefix, List<Entry> out) throws IOException {
        List<Path> names = new ArrayList<>();
        for (Path p : dir) {
            names.add(p.getFileName());
        }
        for (Path n : names) {
            String s = n.toString();
            if (s.indexOf('\uFFFD') >= 0) {
                continue;
            }
            BasicFileAttributes a;
            try {
                a = RootDirectory.lstat(dir, n);
            } catch (NoSuchFileException gone) {
                continue;
            }
            String rel = prefix.isEmpty() ? s : prefix + "/" + s;
            Entry.Type type = typeOf(a);
            long mtime = a.lastModifiedTime().toMillis();
            if (type == Entry.Type.DIRECTORY) {
                out.add(new Entry(rel, type, 0, mtime));
                try (SecureDirectoryStream<Path> sub = RootDirectory.openChild(dir, n, n)) {
                    collect(sub, rel, out);
                } catch (NoSuchFileException vanished) {
                    // Removed while being read: the summary then differs from any earlier one, as it should.
                }
            } else {
                out.add(new Entry(rel, type, a.size(), mtime));
            }
        }
    }

    /** The catalog's own change detector over these entries, so that equal means what it means there. */
    static String signature(List<Entry> files) {
        return new Candidate(null, "", null, CheckpointKind.FILE, Framework.UNKNOWN, files, List.of(), null).signature();
    }
}
