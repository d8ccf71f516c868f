package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementReport.Item;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.registry.Registry;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.NameScope;
import org.apache.commons.vfs2.provider.UriParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The {@link Enforcer}'s deletion path for a remote root ({@code sftp://}, {@code s3://}), with the same
 * refusals as a local root (other root, watch-only, protected, pinned, writing, corrupt, not
 * registered, changed since planned) and the same audit log: every eviction's {@code begin} line is
 * forced to disk before anything remote is touched, its {@code end} line after.
 *
 * <p>The checkpoint is found by listing each directory from the root down (types come from the
 * listing, which on SFTP does not follow symbolic links: a link is never taken for a directory, and
 * nothing is reached outside the root's URI prefix or inside its trash); its files are listed again and
 * must match the plan's size, newest modification time and signature.
 *
 * <p>SFTP: the checkpoint is renamed into {@code <root>/.ckpt-warden-trash/} on the server (one atomic
 * rename per entry on the same file system), the registry records it deleted, the end line is
 * written, then the trash copy is deleted; a pass starts by emptying what an interrupted pass left in
 * the trash. S3 has no rename: the checkpoint's objects are deleted one by one, the completion marker
 * ({@code trainer_state.json}, {@code meta.pt}, {@code commit_success.txt}, an index, ...) first and
 * the rest in name order, so that a deletion cut short leaves something the catalog never takes for
 * a complete checkpoint.
 */
final class RemoteEvictions {
    private static final Logger log = LoggerFactory.getLogger(RemoteEvictions.class);
    /** Files whose presence makes a directory checkpoint complete to the catalog: removed first on S3. */
    private static final Set<String> MARKERS = Set.of("trainer_state.json", "meta.pt", "commit_success.txt",
            "_CHECKPOINT_METADATA", ".metadata", "model.safetensors.index.json", "pytorch_model.bin.index.json", "latest",
            "saved_model.pb", "metadata.json");

    private final RootConfig root;
    private final Registry registry;
    private final AuditLog audit;
    private final EnforcementListener listener;
    private final RemoteSettings settings;
    private final boolean dryRun;
    private final Instant now;
    private final Path rootPath;
    private final boolean s3;
    private final List<String> problems = new ArrayList<>();
    /** Whether the agent is stopping: asked before each eviction. */
    private final BooleanSupplier stopping;
    /** Why this process may not delete now (the cluster lease), or null: asked before each eviction. */
    private final Supplier<String> refusal;
    private String refusedBefore;
    private String auditBroken;

    RemoteEvictions(RootConfig root, Registry registry, AuditLog audit, EnforcementListener listener, RemoteSettings settings,
                    boolean dryRun, Instant now, BooleanSupplier stopping, Supplier<String> refusal) {
        this.stopping = stopping;
        this.refusal = refusal;
        this.root = root;
        this.registry = registry;
        this.audit = audit;
        this.listener = listener;
        this.settings = settings;
        this.dryRun = dryRun;
        this.now = now;
        this.rootPath = RemoteLocation.path(root.path());
        this.s3 = URI.create(root.path().strip()).getScheme().toLowerCase(Locale.ROOT).equals("s3");
    }

    private boolean destructive() {
        return !dryRun && (root.action() == Action.DELETE || root.action() == Action.OFFLOAD);
    }

    /** Empties what an interrupted pass left in the remote trash (SFTP; S3 has none). */
    EnforcementReport recover() throws IOException {
        if (!s3) {
            try (RemoteFiles files = RemoteFiles.open(settings)) {
                purgeTrash(files.resolve(root.path()));
            }
        }
        return new EnforcementReport(root.name(), rootPath, root.action().id(), false, List.of(), problems);
    }

    /**
     * Each remote eviction is its own batch: a stop and the deletion guard are asked before it, then its
     * {@code begin} line is forced, it is carried out, and its {@code end} line written. An eviction is
     * several round trips to the server, so asking before each one costs little and keeps a lease lost
     * (or a stop asked) mid-pass from covering more than the eviction in progress.
     */
    EnforcementReport enforce(List<Eviction> evictions) throws IOException {
        List<Item> items = new ArrayList<>(evictions.size());
        if (evictions.isEmpty()) {
            return new EnforcementReport(root.name(), rootPath, root.action().id(), dryRun, items, problems);
        }
        try (RemoteFiles files = RemoteFiles.open(settings)) {
            FileObject top = files.resolve(root.path());
            if (destructive() && !s3) {
                purgeTrash(top);
            }
            for (Eviction e : evictions) {
                Item item = destructive() ? evictAudited(top, e) : attempt(top, e, null);
                items.add(item);
                listener.finished(item);
            }
        }
        return new EnforcementReport(root.name(), rootPath, root.action().id(), dryRun, items, problems);
    }

    /** One destructive eviction with its checks and audit lines; see {@link #enforce}. */
    private Item evictAudited(FileObject top, Eviction e) {
        Checkpoint c = e.checkpoint();
        if (stopping.getAsBoolean()) {
            return item(e, c.bytes(), EnforcementReport.SKIPPED + Enforcer.STOPPING, null, 0);
        }
        String refused = refusal.get();
        if (refused != null) {
            if (refusedBefore == null || !refusedBefore.equals(refused)) {
                problems.add("root " + root.name() + ": not allowed to delete now: " + refused);
                refusedBefore = refused;
            }
            return item(e, c.bytes(), EnforcementReport.FAILED + Enforcer.NOT_ALLOWED, refused, 0);
        }
        if (auditBroken != null) {
            return item(e, c.bytes(), EnforcementReport.FAILED + "audit log unavailable", auditBroken, 0);
        }
        String id = TrashBin.newId(now);
        try {
            audit.appendAll(List.of(new AuditRecord(now, AuditRecord.BEGIN, id, c.key(), root.name(), c.run(), c.bytes(),
                    e.reason(), root.action().id(), e.why(), null, null)));
        } catch (IOException x) {
            auditBroken = "audit log " + audit.file() + ": " + TrashBin.describe(x);
            problems.add(auditBroken);
            return item(e, c.bytes(), EnforcementReport.FAILED + "audit log unavailable", auditBroken, 0);
        }
        Item item = attempt(top, e, id);
        end(e, id, item);
        return item;
    }

    /** The eviction itself; a failure is its outcome, never an exception. */
    private Item attempt(FileObject top, Eviction e, String id) {
        try {
            return evict(top, e, id);
        } catch (IOException | RuntimeException x) {
            String why = describe(x);
            log.warn("root {}: eviction of {} failed: {}", root.name(), e.checkpoint().location(), why);
            return item(e, e.checkpoint().bytes(), EnforcementReport.FAILED + why, null, 0);
        }
    }

    private void end(Eviction e, String id, Item item) {
        Checkpoint c = e.checkpoint();
        try {
            audit.append(new AuditRecord(now, AuditRecord.END, id, c.key(), root.name(), c.run(), item.bytes(), e.reason(),
                    root.action().id(), List.of(), item.outcome(), item.detail()));
        } catch (IOException x) {
            problems.add("audit log " + audit.file() + ": end line for " + c.location() + " not written: "
                    + TrashBin.describe(x));
        }
    }

    private Item evict(FileObject top, Eviction e, String id) throws IOException {
        Checkpoint c = e.checkpoint();
        java.util.Optional<Checkpoint> row = registry.byPath(c.key());
        Enforcer.Refusal refused = Enforcer.protection(root, e, row);
        if (refused != null) {
            return skip(e, refused.why(), refused.detail());
        }
        boolean registeredGone = row.isPresent() && !row.get().state().present();
        List<Path> names;
        try {
            names = entries(c);
        } catch (UnsafePathException u) {
            return skip(e, "outside root", u.getMessage());
        }
        List<Found> found = new ArrayList<>(names.size());
        try {
            for (Path name : names) {
                found.add(find(top, name));
            }
        } catch (UnsafePathException u) {
            return skip(e, "symbolic link", u.getMessage());
        }
        if (found.stream().allMatch(f -> f == null)) {
            if (!registeredGone && destructive()) {
                markGone(c, "gone from disk");
            }
            return item(e, 0, dryRun ? EnforcementReport.DRY_RUN : root.action() == Action.REPORT ? EnforcementReport.REPORT
                    : EnforcementReport.OK, "already gone", 0);
        }
        if (registeredGone) {
            return skip(e, "not present", "the registry records it as " + row.get().state().id());
        }
        Seen seen = observe(c, names, found);
        if (seen.difference() != null) {
            return skip(e, "changed since planned", seen.difference());
        }
        if (dryRun) {
            return item(e, seen.bytes(), EnforcementReport.DRY_RUN, null, 0);
        }
        if (root.action() == Action.REPORT) {
            return item(e, seen.bytes(), EnforcementReport.REPORT, null, 0);
        }
        if (root.action() == Action.OFFLOAD) {
            return item(e, seen.bytes(), EnforcementReport.FAILED + "offload from a remote root not supported",
                    "action: offload applies to local roots; nothing was touched", 0);
        }
        return s3 ? deleteObjects(e, seen) : renameThenDelete(top, e, id, found, seen);
    }

    /** SFTP: each entry renamed into the trash (atomic on the server), recorded, then deleted from there. */
    private Item renameThenDelete(FileObject top, Eviction e, String id, List<Found> found, Seen seen) throws IOException {
        Checkpoint c = e.checkpoint();
        FileObject trash = trashDir(top, true);
        List<FileObject> inTrash = new ArrayList<>();
        // A multi-file checkpoint's index (written last by its framework) goes first.
        List<Found> order = new ArrayList<>(found);
        order.sort(Comparator.comparing((Found f) -> f == null || !isIndex(f.object().getName().getBaseName()))
                .thenComparing(f -> f == null ? "" : f.object().getName().getBaseName()));
        for (int k = 0; k < order.size(); k++) {
            Found f = order.get(k);
            if (f == null) {
                continue;
            }
            FileObject target = trash.resolveFile(order.size() == 1 ? id : id + "." + k, NameScope.CHILD);
            if (!f.object().canRenameTo(target)) {
                throw new IOException("cannot rename " + RemoteLocation.text(f.path()) + " into " + trash.getName().getFriendlyURI()
                        + " on the same server; nothing was deleted");
            }
            f.object().moveTo(target);
            inTrash.add(target);
            listener.renamed(c.path(), f.object().getName().getBaseName());
        }
        markGone(c, e.reason());
        long freed = 0;
        Set<String> names = new java.util.HashSet<>();
        inTrash.forEach(t -> names.add(t.getName().getBaseName()));
        for (FileObject t : trash.getChildren()) {
            if (!names.contains(t.getName().getBaseName())) {
                continue;
            }
            try {
                // Typed by the trash's listing (never following a link), not by the rename's bookkeeping.
                deleteTree(t);
                freed = seen.bytes();
            } catch (FileSystemException x) {
                problems.add("evicted " + c.location() + " left in " + trash.getName().getFriendlyURI() + " ("
                        + describe(x) + "); the next pass deletes it");
            }
        }
        return item(e, seen.bytes(), EnforcementReport.OK, null, freed);
    }

    /** S3: the objects deleted one by one, the completion marker first, the rest in name order. */
    private Item deleteObjects(Eviction e, Seen seen) throws IOException {
        Checkpoint c = e.checkpoint();
        List<FileObject> order = new ArrayList<>(seen.files());
        order.sort(Comparator.comparing((FileObject f) -> !isMarker(f.getName().getBaseName()))
                .thenComparing(f -> f.getName().getPath()));
        int deleted = 0;
        for (FileObject f : order) {
            try {
                f.delete();
            } catch (FileSystemException x) {
                String detail = deleted + " of " + order.size() + " objects deleted (completion marker first, so what is "
                        + "left is not taken for a complete checkpoint): " + describe(x);
                log.warn("root {}: eviction of {} cut short: {}", root.name(), c.location(), detail);
                return item(e, seen.bytes(), EnforcementReport.FAILED + "delete cut short", detail, 0);
            }
            deleted++;
        }
        markGone(c, e.reason());
        return item(e, seen.bytes(), EnforcementReport.OK, deleted + " objects deleted", seen.bytes());
    }

    private static boolean isMarker(String name) {
        return MARKERS.contains(name) || isIndex(name);
    }

    private static boolean isIndex(String name) {
        return name.endsWith(".index") || name.endsWith(".index.json");
    }

    private void markGone(Checkpoint c, String reason) {
        try {
            registry.markGone(List.of(c.key()), CheckpointState.DELETED, now, reason);
        } catch (RuntimeException x) {
            problems.add("registry not updated for " + c.location() + ": " + x.getMessage());
        }
    }

    /**
     * The entries of a checkpoint, relative to the root: its own path, or each member beside it.
     *
     * @throws UnsafePathException when one lies outside the root, is the root, or lies in its trash
     */
    private List<Path> entries(Checkpoint c) throws UnsafePathException {
        if (c.members().isEmpty()) {
            return List.of(inside(c.path()));
        }
        Path runDir = rootPath.resolve(c.run() == null ? "." : c.run()).normalize();
        Path parent = inside(c.path()).getParent();
        List<Path> out = new ArrayList<>();
        for (String m : c.members()) {
            Path rel = inside(runDir.resolve(m));
            if (!java.util.Objects.equals(rel.getParent(), parent)) {
                throw new UnsafePathException(runDir.resolve(m), "member of " + c.location() + " does not sit beside it");
            }
            out.add(rel);
        }
        return out;
    }

    private Path inside(Path p) throws UnsafePathException {
        Path n = p.normalize();
        if (!RemoteLocation.isRemote(n) || !n.startsWith(rootPath) || n.equals(rootPath)) {
            throw new UnsafePathException(p, "outside the root " + root.path());
        }
        Path rel = rootPath.relativize(n);
        if (rel.getName(0).toString().equals(Cataloger.TRASH_DIR)) {
            throw new UnsafePathException(p, "inside the trash");
        }
        return rel;
    }

    /** An entry found by listing: its object (typed by the listing) and its path form. */
    private record Found(FileObject object, Path path) {
    }

    /**
     * Finds an entry by listing every directory from the root down; null when absent.
     *
     * @throws IOException when a directory on the way is not a directory (a file, or on SFTP a symbolic link)
     */
    private Found find(FileObject top, Path rel) throws IOException {
        FileObject dir = top;
        for (int i = 0; i < rel.getNameCount(); i++) {
            String name = rel.getName(i).toString();
            FileObject child = null;
            for (FileObject ch : dir.getChildren()) {
                if (UriParser.decode(ch.getName().getBaseName()).equals(name)) {
                    child = ch;
                    break;
                }
            }
            if (child == null || child.getType() == FileType.IMAGINARY) {
                return null;
            }
            if (i < rel.getNameCount() - 1 && child.getType() != FileType.FOLDER) {
                throw new UnsafePathException(rootPath.resolve(rel.subpath(0, i + 1)), "not a directory (a symbolic link?)");
            }
            dir = child;
        }
        return new Found(dir, rootPath.resolve(rel));
    }

    /**
     * What the checkpoint's files are now.
     *
     * @param difference null when they are what the plan saw (size, newest mtime, signature), else what differs
     */
    private record Seen(List<FileObject> files, long bytes, String difference) {
    }

    private Seen observe(Checkpoint c, List<Path> names, List<Found> found) throws IOException {
        List<Entry> entries = new ArrayList<>();
        List<FileObject> files = new ArrayList<>();
        for (int i = 0; i < found.size(); i++) {
            Found f = found.get(i);
            String label = c.members().isEmpty() ? c.name() : c.members().get(i);
            if (f == null) {
                return new Seen(files, 0, names.get(i) + " is missing");
            }
            FileType expected = c.kind() == CheckpointKind.DIRECTORY ? FileType.FOLDER : FileType.FILE;
            if (f.object().getType() != expected) {
                return new Seen(files, 0, label + " is now a " + f.object().getType() + ", was a " + expected);
            }
            if (c.kind() == CheckpointKind.DIRECTORY) {
                walk(f.object(), entries, files);
            } else {
                entries.add(new Entry(label, Entry.Type.FILE, f.object().getContent().getSize(),
                        f.object().getContent().getLastModifiedTime()));
                files.add(f.object());
            }
        }
        long bytes = 0;
        long newest = Long.MIN_VALUE;
        for (Entry en : entries) {
            bytes += en.isFile() ? en.size() : 0;
            newest = Math.max(newest, en.mtimeMillis());
        }
        newest = newest == Long.MIN_VALUE ? 0 : newest;
        if (bytes != c.bytes()) {
            return new Seen(files, bytes, "size " + bytes + " bytes, planned " + c.bytes());
        }
        if (c.modified() != null && newest != c.modified().toEpochMilli()) {
            return new Seen(files, bytes, "modified " + Instant.ofEpochMilli(newest) + ", planned " + c.modified());
        }
        String signature = EntrySnapshot.signature(entries);
        if (c.signature() != null && !c.signature().equals(signature)) {
            return new Seen(files, bytes, "files changed (signature " + signature + ", planned " + c.signature() + ")");
        }
        return new Seen(files, bytes, null);
    }

    /** Every entry below a directory checkpoint, named as the catalog names them ('/'-separated, sorted). */
    private void walk(FileObject dir, List<Entry> entries, List<FileObject> files) throws IOException {
        Deque<FileObject> pending = new ArrayDeque<>();
        pending.push(dir);
        while (!pending.isEmpty()) {
            FileObject d = pending.pop();
            for (FileObject ch : d.getChildren()) {
                String name = dir.getName().getRelativeName(ch.getName());
                name = UriParser.decode(name);
                FileType t = ch.getType();
                if (t == FileType.FOLDER) {
                    pending.push(ch);
                    entries.add(new Entry(name, Entry.Type.DIRECTORY, 0, s3 ? 0 : ch.getContent().getLastModifiedTime()));
                } else if (t == FileType.FILE) {
                    entries.add(new Entry(name, Entry.Type.FILE, ch.getContent().getSize(),
                            ch.getContent().getLastModifiedTime()));
                    files.add(ch);
                }
            }
        }
        entries.sort(Comparator.comparing(Entry::name));
    }

    /** The root's trash directory on the server, created when {@code create}; null when absent and not created. */
    private FileObject trashDir(FileObject top, boolean create) throws IOException {
        FileObject trash = top.resolveFile(Cataloger.TRASH_DIR, NameScope.CHILD);
        for (FileObject ch : top.getChildren()) {
            if (ch.getName().getBaseName().equals(Cataloger.TRASH_DIR)) {
                if (ch.getType() != FileType.FOLDER) {
                    throw new IOException(ch.getName().getFriendlyURI() + " is not a directory; nothing was deleted");
                }
                return ch;
            }
        }
        if (!create) {
            return null;
        }
        trash.createFolder();
        return trash;
    }

    private void purgeTrash(FileObject top) {
        try {
            FileObject trash = trashDir(top, false);
            if (trash == null) {
                return;
            }
            for (FileObject left : trash.getChildren()) {
                deleteTree(left);
                log.info("root {}: deleted {} left in the trash by an interrupted pass", root.name(),
                        left.getName().getFriendlyURI());
            }
        } catch (IOException x) {
            problems.add("remote trash of " + root.path() + " not emptied: " + describe(x));
        }
    }

    /**
     * Deletes an entry of the trash and everything below it: files as listed (a symbolic link is listed as
     * a file and removed as one, never followed), then the directories deepest first, each looked up
     * afresh so that VFS does not go by a listing taken before their files were removed.
     */
    private static void deleteTree(FileObject entry) throws FileSystemException {
        if (entry.getType() != FileType.FOLDER) {
            entry.delete();
            return;
        }
        List<FileObject> dirs = new ArrayList<>();
        Deque<FileObject> pending = new ArrayDeque<>();
        pending.push(entry);
        while (!pending.isEmpty()) {
            FileObject d = pending.pop();
            dirs.add(d);
            for (FileObject ch : d.getChildren()) {
                if (ch.getType() == FileType.FOLDER) {
                    pending.push(ch);
                } else {
                    ch.delete();
                }
            }
        }
        for (int i = dirs.size() - 1; i >= 0; i--) {
            FileObject fresh = entry.getFileSystem().resolveFile(dirs.get(i).getName());
            if (!fresh.delete()) {
                throw new FileSystemException("could not remove the directory " + fresh.getName().getFriendlyURI());
            }
        }
    }

    private Item skip(Eviction e, String why, String detail) {
        return item(e, e.checkpoint().bytes(), EnforcementReport.SKIPPED + why, detail, 0);
    }

    private static Item item(Eviction e, long bytes, String outcome, String detail, long freed) {
        Checkpoint c = e.checkpoint();
        return new Item(c.path(), c.run(), bytes, e.reason(), outcome, detail, freed);
    }

    private static String describe(Exception x) {
        List<String> parts = new ArrayList<>();
        for (Throwable t = x; t != null && parts.size() < 3; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage();
            if (m != null && !m.isBlank() && parts.stream().noneMatch(p -> p.contains(m.strip()))) {
                parts.add(m.strip().lines().findFirst().orElse(m));
            }
        }
        return parts.isEmpty() ? x.getClass().getSimpleName() : String.join(": ", parts);
    }
}
