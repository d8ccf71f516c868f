package dev.ckptwarden.enforce;

import dev.ckptwarden.errors.ErrorLine;

import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.NameScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The deletion protocol's backend for an SFTP root, and the one class that removes checkpoint files
 * from one: each entry is renamed into {@code <root>/.ckpt-warden-trash/<id>.<i>} on the server (one
 * atomic rename on the same file system, as on a local disk), under a signed manifest stored there
 * first ({@code .partial}, then renamed into place; SFTP offers no fsync, so durability is the
 * server's close). The purge deletes only what a verified manifest names: a shared server's trash may
 * hold what another user put there, and nothing another user can write may direct a deletion.
 */
final class SftpTrash extends RemoteTrash {
    private static final Logger log = LoggerFactory.getLogger(SftpTrash.class);

    /** Members that could not be put back: never purged. */
    private final Set<String> kept = new HashSet<>();

    SftpTrash(RemoteEntries entries) {
        super(entries);
    }

    @Override
    public String storeManifest(String fileId, List<Signed> lines) throws IOException {
        byte[] signedLines = TrashBackend.joined(lines);
        FileObject trash = entries.trash(true);
        FileObject partial = trash.resolveFile(fileId + TrashBin.PARTIAL_SUFFIX, NameScope.CHILD);
        try (OutputStream out = partial.getContent().getOutputStream()) {
            out.write(signedLines);
        }
        String name = fileId + TrashBin.MANIFEST_SUFFIX;
        partial.moveTo(trash.resolveFile(name, NameScope.CHILD));
        return name;
    }

    @Override
    public Moved moveToTrash(Look look, TrashManifest m, Consumer<String> moved) throws IOException {
        RemoteEntries.RemoteLook l = (RemoteEntries.RemoteLook) look;
        List<Path> names = l.observed().where().names();
        List<FileObject> now = new ArrayList<>(names.size());
        List<EntrySnapshot> seen = new ArrayList<>(names.size());
        for (Path n : names) {
            FileObject f = l.parent() == null ? null : RemoteEntries.child(l.parent(), n.toString());
            now.add(f);
            seen.add(f == null ? null : entries.snapshot(f, n.toString()));
        }
        if (seen.stream().allMatch(java.util.Objects::isNull)) {
            return new Moved(List.of(), null);
        }
        if (!seen.equals(l.observed().entries())) {
            return Moved.refused(Outcome.Skip.CHANGED_SINCE_PLANNED, "changed after its last look, before the rename");
        }
        FileObject trash = entries.trash(true);
        // A multi-file checkpoint's index (written last by its framework) goes first.
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparing((Integer i) -> !RemoteEntries.isIndex(names.get(i).toString()))
                .thenComparing(i -> names.get(i).toString()));
        List<String> done = new ArrayList<>();
        List<Integer> doneIndex = new ArrayList<>();
        try {
            for (int i : order) {
                FileObject f = now.get(i);
                if (f == null) {
                    continue; // already gone: success
                }
                FileObject target = trash.resolveFile(m.id() + "." + i, NameScope.CHILD);
                if (!f.canRenameTo(target)) {
                    throw new IOException("cannot rename " + f.getName().getFriendlyURI() + " into "
                            + trash.getName().getFriendlyURI() + " on the same server; nothing was deleted");
                }
                f.moveTo(target);
                done.add(names.get(i).toString());
                doneIndex.add(i);
                moved.accept(names.get(i).toString());
            }
        } catch (IOException | RuntimeException x) {
            List<String> stuck = rollBack(l.parent(), trash, m, doneIndex);
            if (stuck.isEmpty()) {
                throw x;
            }
            throw new IOException(x.getMessage() + "; " + stuck.size() + " member(s) left in " + trashName()
                    + " for the next start to finish", x);
        }
        return new Moved(done, null);
    }

    /** Renames moved members back where they were, last first; returns those that could not go back. */
    private List<String> rollBack(FileObject parent, FileObject trash, TrashManifest m, List<Integer> moved) {
        List<String> stuck = new ArrayList<>();
        for (int k = moved.size() - 1; k >= 0; k--) {
            int i = moved.get(k);
            String name = m.members().get(i).name();
            try {
                FileObject inTrash = RemoteEntries.child(trash, m.id() + "." + i);
                if (parent == null || inTrash == null || RemoteEntries.child(parent, name) != null) {
                    stuck.add(name); // something new took its place: never rename over it
                } else {
                    inTrash.moveTo(parent.resolveFile(name, NameScope.CHILD));
                }
            } catch (IOException | RuntimeException e) {
                stuck.add(name);
            }
        }
        return stuck;
    }

    @Override
    public long[] purge(String manifestFile, List<TrashManifest> moved, Executor unlinkers) throws IOException {
        long[] freed = new long[moved.size()];
        FileObject trash = entries.trash(false);
        if (trash == null) {
            return freed;
        }
        trash.resolveFile(manifestFile, NameScope.CHILD).delete();
        IOException failed = null;
        for (int k = 0; k < moved.size(); k++) {
            TrashManifest m = moved.get(k);
            try {
                for (int i = 0; i < m.members().size(); i++) {
                    FileObject entry = RemoteEntries.child(trash, m.id() + "." + i);
                    if (entry != null) {
                        deleteTree(entry);
                    }
                }
                freed[k] = m.bytes();
            } catch (IOException x) {
                freed[k] = -1;
                failed = x;
            }
        }
        if (failed != null) {
            throw new PartialPurgeException(freed, failed);
        }
        return freed;
    }

    /** Members still in place and exactly as the manifest recorded them follow those already in the trash. */
    @Override
    public Recovered rollForward(TrashManifest m) throws IOException {
        FileObject trash = entries.trash(false);
        List<Integer> notInTrash = new ArrayList<>();
        for (int i = 0; i < m.members().size(); i++) {
            if (RemoteEntries.child(trash, m.id() + "." + i) == null) {
                notInTrash.add(i);
            }
        }
        FileObject parent;
        try {
            parent = entries.directory(entries.rootPath().getFileSystem().getPath(m.parent()));
        } catch (UnsafePathException unsafe) {
            boolean none = notInTrash.size() == m.members().size();
            return new Recovered(m, !none, false, (none ? "interrupted before the first rename; "
                    : "finished after restart, but ") + unsafe.getMessage() + (none ? "" : ": remaining members not moved"));
        }
        if (notInTrash.size() == m.members().size()) {
            for (EntrySnapshot member : m.members()) {
                if (parent != null && RemoteEntries.child(parent, member.name()) != null) {
                    return new Recovered(m, false, false, "interrupted before the first rename; checkpoint left in place");
                }
            }
            return new Recovered(m, true, false, "already gone");
        }
        if (notInTrash.isEmpty()) {
            return new Recovered(m, true, false, "finished after restart");
        }
        if (parent == null) {
            return new Recovered(m, true, false, "finished after restart (its directory is gone)");
        }
        int movedNow = 0;
        List<String> left = new ArrayList<>();
        for (int i : notInTrash) {
            EntrySnapshot member = m.members().get(i);
            FileObject f = RemoteEntries.child(parent, member.name());
            if (f == null) {
                continue;
            }
            if (!entries.snapshot(f, member.name()).equals(member)) {
                left.add(member.name());
                continue;
            }
            f.moveTo(trash.resolveFile(m.id() + "." + i, NameScope.CHILD));
            movedNow++;
        }
        String detail = "finished after restart: moved " + movedNow + " remaining member(s)";
        if (!left.isEmpty()) {
            detail += "; left in place because they changed: " + String.join(", ", left);
        }
        return new Recovered(m, true, false, detail);
    }

    @Override
    public Recovered putBack(TrashManifest m) throws IOException {
        FileObject trash = entries.trash(false);
        List<Integer> inTrash = new ArrayList<>();
        for (int i = 0; i < m.members().size(); i++) {
            if (RemoteEntries.child(trash, m.id() + "." + i) != null) {
                inTrash.add(i);
            }
        }
        FileObject parent;
        try {
            parent = entries.directory(entries.rootPath().getFileSystem().getPath(m.parent()));
        } catch (UnsafePathException unsafe) {
            parent = null;
        }
        List<String> stuck = rollBack(parent, trash, m, inTrash);
        String detail = "pinned since the eviction began: put back " + (inTrash.size() - stuck.size()) + " member(s)";
        if (!stuck.isEmpty()) {
            for (int i : inTrash) {
                if (stuck.contains(m.members().get(i).name())) {
                    kept.add(m.id() + "." + i);
                }
            }
            detail += "; kept in " + trashName() + " because their place is taken: " + String.join(", ", stuck);
        }
        return new Recovered(m, false, true, detail);
    }

    /**
     * Deletes the verified manifests, then what their evictions left in the trash, and manifests this
     * agent never finished writing ({@code .partial}). Anything else stays: not this agent's to delete.
     */
    @Override
    public Purge purgeRecovered(List<String> manifestFiles, List<TrashManifest> recovered) throws IOException {
        FileObject trash = entries.trash(false);
        List<String> problems = new ArrayList<>();
        if (trash == null) {
            return new Purge(0, 0, problems);
        }
        Set<String> ours = new HashSet<>(manifestFiles);
        long bytes = 0;
        for (TrashManifest m : recovered) {
            for (int i = 0; i < m.members().size(); i++) {
                if (!kept.contains(m.id() + "." + i)) {
                    ours.add(m.id() + "." + i);
                }
            }
            bytes += m.bytes();
        }
        int deleted = 0;
        trash.refresh();
        List<FileObject> children = List.of(trash.getChildren());
        // Manifests first, so that a crash in the middle can never make a start roll anything forward.
        List<FileObject> ordered = new ArrayList<>(children);
        ordered.sort(Comparator.comparing((FileObject f) -> !f.getName().getBaseName().endsWith(TrashBin.MANIFEST_SUFFIX)));
        for (FileObject ch : ordered) {
            String name = ch.getName().getBaseName();
            if (!ours.contains(name) && !name.endsWith(TrashBin.PARTIAL_SUFFIX)) {
                if (!name.endsWith(TrashBin.MANIFEST_SUFFIX)) {
                    log.warn("{}/{}: not named by a manifest of this agent; left alone", trashName(), name);
                }
                continue;
            }
            try {
                deleteTree(ch);
                deleted++;
            } catch (IOException x) {
                problems.add(trashName() + "/" + name + ": cannot delete: " + ErrorLine.causes(x));
            }
        }
        return new Purge(deleted, bytes, problems);
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
            d.refresh();
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

    @Override
    public void close() {
        // the remote connection belongs to the pass that opened it
    }
}
