package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.RemoteLocation;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.NameScope;
import org.apache.commons.vfs2.provider.UriParser;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * How the remote backends ({@link SftpTrash}, {@link S3Trash}) find and look at a checkpoint's entries:
 * by listing each directory from the root down. Types come from the listing, which on SFTP does not
 * follow symbolic links: a link is never taken for a directory, and nothing is reached outside the
 * root's URI prefix or inside its trash. An entry is summarised as the local backend summarises one
 * ({@link EntrySnapshot}), so the same plan comparison and the same manifests serve every backend.
 */
final class RemoteEntries {
    /** Files whose presence makes a directory checkpoint complete to the catalog: removed first on S3. */
    private static final Set<String> MARKERS = Set.of("trainer_state.json", "meta.pt", "commit_success.txt",
            "_CHECKPOINT_METADATA", ".metadata", "model.safetensors.index.json", "pytorch_model.bin.index.json", "latest",
            "saved_model.pb", "metadata.json");

    private final FileObject top;
    private final String uri;
    private final Path rootPath;
    private final boolean s3;

    RemoteEntries(FileObject top, String uri) {
        this.top = top;
        this.uri = uri.strip();
        this.rootPath = RemoteLocation.path(uri);
        this.s3 = this.uri.toLowerCase(Locale.ROOT).startsWith("s3:");
    }

    Path rootPath() {
        return rootPath;
    }

    /** The root's trash directory, created when {@code create}; null when absent and not created. */
    FileObject trash(boolean create) throws IOException {
        FileObject found = child(top, Cataloger.TRASH_DIR);
        if (found != null) {
            if (found.getType() != FileType.FOLDER) {
                throw new IOException(found.getName().getFriendlyURI() + " is not a directory; nothing was deleted");
            }
            return found;
        }
        if (!create) {
            return null;
        }
        FileObject trash = top.resolveFile(Cataloger.TRASH_DIR, NameScope.CHILD);
        trash.createFolder();
        return trash;
    }

    String trashName() {
        return uri.replaceAll("/+$", "") + "/" + Cataloger.TRASH_DIR;
    }

    /** A look at the checkpoint's entries now; {@code parent} holds the directory they are in (null when it is gone). */
    record RemoteLook(Refusal refused, CheckpointEntries.Observed observed, FileObject parent) implements TrashBackend.Look {
    }

    RemoteLook look(Checkpoint c) throws IOException {
        CheckpointEntries where = CheckpointEntries.of(c, rootPath);
        FileObject parent;
        try {
            parent = directory(where.parent());
        } catch (UnsafePathException u) {
            return new RemoteLook(new Refusal(Outcome.Skip.SYMBOLIC_LINK, u.getMessage()), null, null);
        }
        List<EntrySnapshot> seen = new ArrayList<>();
        for (Path n : where.names()) {
            FileObject f = parent == null ? null : child(parent, n.toString());
            seen.add(f == null ? null : snapshot(f, n.toString()));
        }
        return new RemoteLook(null, new CheckpointEntries.Observed(where, seen), parent);
    }

    /** The directory at {@code rel} below the root, listed down from it; null when absent. */
    FileObject directory(Path rel) throws IOException {
        FileObject dir = top;
        for (int i = 0; i < rel.getNameCount(); i++) {
            String name = rel.getName(i).toString();
            if (name.isEmpty()) {
                continue;
            }
            FileObject next = child(dir, name);
            if (next == null) {
                return null;
            }
            if (next.getType() != FileType.FOLDER) {
                throw new UnsafePathException(rootPath.resolve(rel.subpath(0, i + 1)), "not a directory (a symbolic link?)");
            }
            dir = next;
        }
        return dir;
    }

    /** The entry {@code name} of {@code dir} as its listing shows it now; null when absent. */
    static FileObject child(FileObject dir, String name) throws IOException {
        // A file object keeps the listing it took first: a look must see what the server holds now.
        dir.refresh();
        for (FileObject ch : dir.getChildren()) {
            if (UriParser.decode(ch.getName().getBaseName()).equals(name)) {
                return ch.getType() == FileType.IMAGINARY ? null : ch;
            }
        }
        return null;
    }

    /** One entry as the local backend would summarise it: a file, or a directory and everything below it. */
    EntrySnapshot snapshot(FileObject f, String name) throws IOException {
        FileType t = f.getType();
        if (t != FileType.FOLDER) {
            return new EntrySnapshot(name, t == FileType.FILE ? Entry.Type.FILE : Entry.Type.OTHER,
                    f.getContent().getSize(), f.getContent().getLastModifiedTime(), null);
        }
        List<Entry> entries = new ArrayList<>();
        files(f, entries);
        long bytes = 0;
        long newest = Long.MIN_VALUE;
        for (Entry en : entries) {
            bytes += en.isFile() ? en.size() : 0;
            newest = Math.max(newest, en.mtimeMillis());
        }
        return new EntrySnapshot(name, Entry.Type.DIRECTORY, bytes, newest == Long.MIN_VALUE ? 0 : newest,
                EntrySnapshot.signature(entries));
    }

    /**
     * Every file below a directory (deepest listing order), and the entries as the catalog names them
     * ('/'-separated, sorted) into {@code entries} when it is not null.
     */
    List<FileObject> files(FileObject dir, List<Entry> entries) throws IOException {
        List<FileObject> files = new ArrayList<>();
        Deque<FileObject> pending = new ArrayDeque<>();
        pending.push(dir);
        while (!pending.isEmpty()) {
            FileObject d = pending.pop();
            d.refresh();
            for (FileObject ch : d.getChildren()) {
                String name = UriParser.decode(dir.getName().getRelativeName(ch.getName()));
                FileType t = ch.getType();
                if (t == FileType.FOLDER) {
                    pending.push(ch);
                    if (entries != null) {
                        entries.add(new Entry(name, Entry.Type.DIRECTORY, 0, s3 ? 0 : ch.getContent().getLastModifiedTime()));
                    }
                } else if (t == FileType.FILE) {
                    if (entries != null) {
                        entries.add(new Entry(name, Entry.Type.FILE, ch.getContent().getSize(),
                                ch.getContent().getLastModifiedTime()));
                    }
                    files.add(ch);
                }
            }
        }
        if (entries != null) {
            entries.sort(Comparator.comparing(Entry::name));
        }
        return files;
    }

    /** Completion markers and indexes first (written last by their framework), the rest in name order. */
    static Comparator<FileObject> markersFirst() {
        return Comparator.comparing((FileObject f) -> !isMarker(f.getName().getBaseName()))
                .thenComparing(f -> f.getName().getPath());
    }

    static boolean isIndex(String name) {
        return name.endsWith(".index") || name.endsWith(".index.json");
    }

    private static boolean isMarker(String name) {
        return MARKERS.contains(name) || isIndex(name);
    }

    /** A manifest file's bytes, at most 16 MiB. */
    static byte[] read(FileObject f) throws IOException {
        try (InputStream in = f.getContent().getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                if (out.size() > 16 << 20) {
                    throw new IOException("manifest larger than 16 MiB");
                }
            }
            return out.toByteArray();
        }
    }
}
