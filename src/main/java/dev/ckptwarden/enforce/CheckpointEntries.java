package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.Entry;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Where a checkpoint lives below its root: one directory ({@code parent}, relative to the root) and
 * the entries in it that make up the checkpoint: its own name, or each member of a multi-file
 * checkpoint. Members must sit beside the checkpoint's path; anything else is refused.
 *
 * @param parent       the directory holding the entries, relative to the root (empty for the root itself)
 * @param names        the entries' names in {@code parent}
 * @param catalogNames the same entries as the catalog names them in a signature (relative to the run directory)
 */
record CheckpointEntries(Path parent, List<Path> names, List<String> catalogNames) {

    CheckpointEntries {
        names = List.copyOf(names);
        catalogNames = List.copyOf(catalogNames);
    }

    /**
     * Locates a checkpoint's entries below a root without touching the disk: a local root, or the
     * path form of a remote one ({@link RemoteLocation#path}).
     *
     * @throws UnsafePathException when the checkpoint or a member lies outside the root, is the root
     *                             itself, or lies in the trash
     */
    static CheckpointEntries of(Checkpoint c, Path rootDir) throws UnsafePathException {
        Path path = c.path();
        if (path == null || !(path.isAbsolute() || RemoteLocation.isRemote(path))) {
            throw new UnsafePathException(path == null ? rootDir : path, "not an absolute path");
        }
        Path p = path.normalize();
        Path rel = inside(p, rootDir);
        Path parent = rel.getParent();
        Path parentRel = parent == null ? rootDir.getFileSystem().getPath("") : parent;
        if (c.members().isEmpty()) {
            return new CheckpointEntries(parentRel, List.of(rel.getFileName()), List.of(c.name()));
        }
        Path runDir = rootDir.resolve(c.run() == null ? "." : c.run()).normalize();
        List<Path> names = new ArrayList<>();
        for (String m : c.members()) {
            Path member = runDir.resolve(m).normalize();
            Path memberRel = inside(member, rootDir);
            if (!Objects.equals(memberRel.getParent(), parent)) {
                throw new UnsafePathException(member, "member of " + p + " does not sit beside it");
            }
            names.add(memberRel.getFileName());
        }
        return new CheckpointEntries(parentRel, names, c.members());
    }

    private static Path inside(Path p, Path rootDir) throws UnsafePathException {
        if (!p.startsWith(rootDir) || p.equals(rootDir)) {
            throw new UnsafePathException(p, "outside the root " + RemoteLocation.text(rootDir));
        }
        Path rel = rootDir.relativize(p);
        if (rel.getName(0).toString().equals(Cataloger.TRASH_DIR)) {
            throw new UnsafePathException(p, "inside the trash");
        }
        return rel;
    }

    /** Reads every entry as it is now through the descriptor of {@code parent}, never following links. */
    Observed observe(SecureDirectoryStream<Path> dir) throws IOException {
        List<EntrySnapshot> seen = new ArrayList<>(names.size());
        for (Path n : names) {
            try {
                seen.add(EntrySnapshot.read(dir, n));
            } catch (NoSuchFileException gone) {
                seen.add(null);
            }
        }
        return new Observed(this, Collections.unmodifiableList(seen));
    }

    /**
     * A checkpoint's entries as they are now.
     *
     * @param entries one per name, null where the entry does not exist
     */
    record Observed(CheckpointEntries where, List<EntrySnapshot> entries) {

        boolean allMissing() {
            return entries.stream().allMatch(Objects::isNull);
        }

        /** The name of the first entry that is a symbolic link, or null. */
        String symbolicLink() {
            for (EntrySnapshot e : entries) {
                if (e != null && e.type() == Entry.Type.SYMLINK) {
                    return e.name();
                }
            }
            return null;
        }

        /** Total size of the regular files, as the catalog counts a checkpoint's bytes. */
        long bytes() {
            long sum = 0;
            for (EntrySnapshot e : entries) {
                if (e != null && (e.type() == Entry.Type.FILE || e.type() == Entry.Type.DIRECTORY)) {
                    sum += e.bytes();
                }
            }
            return sum;
        }

        /**
         * Null when the entries are what the planned checkpoint recorded (same kind, signature, size
         * and newest mtime); otherwise what differs, in a few words.
         */
        String differenceFrom(Checkpoint planned) {
            CheckpointKind kind = planned.kind();
            List<Entry> files = new ArrayList<>();
            long newest = Long.MIN_VALUE;
            for (int i = 0; i < entries.size(); i++) {
                EntrySnapshot e = entries.get(i);
                if (e == null) {
                    return where.catalogNames().get(i) + " is missing";
                }
                Entry.Type expected = kind == CheckpointKind.DIRECTORY ? Entry.Type.DIRECTORY : Entry.Type.FILE;
                if (e.type() != expected) {
                    return e.name() + " is now a " + e.type().name().toLowerCase(Locale.ROOT)
                            + ", was a " + expected.name().toLowerCase(Locale.ROOT);
                }
                files.add(new Entry(where.catalogNames().get(i), e.type(), e.bytes(), e.modifiedMillis()));
                newest = Math.max(newest, e.modifiedMillis());
            }
            if (bytes() != planned.bytes()) {
                return "size " + bytes() + " bytes, planned " + planned.bytes();
            }
            if (planned.modified() != null && newest != planned.modified().toEpochMilli()) {
                return "modified " + Instant.ofEpochMilli(newest) + ", planned " + planned.modified();
            }
            if (planned.signature() != null) {
                String now = kind == CheckpointKind.DIRECTORY ? entries.get(0).contents() : EntrySnapshot.signature(files);
                if (!planned.signature().equals(now)) {
                    return "files changed (signature " + now + ", planned " + planned.signature() + ")";
                }
            }
            return null;
        }
    }
}
