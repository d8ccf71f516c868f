package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.integrity.FileSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The entries of one directory, looked up by name; produced by the walker, read by layouts. */
public final class Listing {
    private final Path dir;
    private final List<Entry> entries;
    private final Map<String, Entry> byName;
    private final FileSource source;

    public Listing(Path dir, List<Entry> entries) {
        this(dir, entries, FileSource.LOCAL);
    }

    /** A listing of a directory whose files are read from {@code source} (a remote root). */
    public Listing(Path dir, List<Entry> entries, FileSource source) {
        this.dir = dir;
        this.source = source;
        this.entries = List.copyOf(entries);
        this.byName = new HashMap<>(entries.size() * 2);
        for (Entry e : entries) {
            byName.put(e.name(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** Where this directory's files are read from. */
    public FileSource source() {
        return source;
    }

    public List<Entry> entries() {
        return entries;
    }

    public Entry get(String name) {
        return byName.get(name);
    }

    public boolean hasFile(String name) {
        Entry e = byName.get(name);
        return e != null && e.isFile();
    }

    public boolean hasDir(String name) {
        Entry e = byName.get(name);
        return e != null && e.isDirectory();
    }

    public boolean has(String name) {
        return byName.containsKey(name);
    }

    public String name() {
        Path n = dir.getFileName();
        return n == null ? dir.toString() : n.toString();
    }
}
