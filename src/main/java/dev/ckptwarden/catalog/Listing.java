package dev.ckptwarden.catalog;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The entries of one directory, looked up by name; produced by the walker, read by layouts. */
public final class Listing {
    private final Path dir;
    private final List<Entry> entries;
    private final Map<String, Entry> byName;

    public Listing(Path dir, List<Entry> entries) {
        this.dir = dir;
        this.entries = List.copyOf(entries);
        this.byName = new HashMap<>(entries.size() * 2);
        for (Entry e : entries) {
            byName.put(e.name(), e);
        }
    }

    public Path dir() {
        return dir;
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
