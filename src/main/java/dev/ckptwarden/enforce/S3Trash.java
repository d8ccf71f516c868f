package dev.ckptwarden.enforce;

import dev.ckptwarden.errors.ErrorLine;

import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.NameScope;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The deletion protocol's backend for an S3 root, and the one class that removes checkpoint objects
 * from one. S3 has no rename, and a server-side copy into a trash prefix would cost as much as the
 * checkpoint's size again and still end in the same object deletions; so the "move into the trash" is
 * marker-first: the eviction's signed manifest is stored first as an object
 * {@code <root>/.ckpt-warden-trash/<id>.manifest.json} (one PUT, atomic), then the checkpoint's objects
 * are deleted, its completion marker ({@code trainer_state.json}, {@code meta.pt}, an index, ...) first,
 * so that a deletion cut short leaves something the catalog never takes for a complete checkpoint; the
 * purge deletes the manifest. A start finds a manifest left by a crash and deletes what is left of the
 * checkpoint, object by object, only where the object is no newer than the manifest recorded.
 */
final class S3Trash extends RemoteTrash {

    S3Trash(RemoteEntries entries) {
        super(entries);
    }

    @Override
    public String storeManifest(String fileId, List<Signed> lines) throws IOException {
        byte[] signedLines = TrashBackend.joined(lines);
        String name = fileId + TrashBin.MANIFEST_SUFFIX;
        FileObject f = entries.trash(true).resolveFile(name, NameScope.CHILD);
        try (OutputStream out = f.getContent().getOutputStream()) {
            out.write(signedLines);
        }
        return name;
    }

    /** The objects of each member as listed now: the object itself, or every object below a directory. */
    private List<FileObject> objects(FileObject parent, List<EntrySnapshot> members) throws IOException {
        List<FileObject> out = new ArrayList<>();
        for (EntrySnapshot m : members) {
            FileObject f = parent == null ? null : RemoteEntries.child(parent, m.name());
            if (f != null) {
                out.addAll(f.getType() == FileType.FOLDER ? entries.files(f, null) : List.of(f));
            }
        }
        return out;
    }

    @Override
    public Moved moveToTrash(Look look, TrashManifest m, Consumer<String> moved) throws IOException {
        RemoteEntries.RemoteLook l = (RemoteEntries.RemoteLook) look;
        List<EntrySnapshot> seen = new ArrayList<>();
        for (Path n : l.observed().where().names()) {
            FileObject f = l.parent() == null ? null : RemoteEntries.child(l.parent(), n.toString());
            seen.add(f == null ? null : entries.snapshot(f, n.toString()));
        }
        if (seen.stream().allMatch(Objects::isNull)) {
            return new Moved(List.of(), null);
        }
        if (!seen.equals(l.observed().entries())) {
            return Moved.refused(Outcome.Skip.CHANGED_SINCE_PLANNED, "changed after its last look, before the deletion");
        }
        List<FileObject> order = objects(l.parent(), m.members());
        order.sort(RemoteEntries.markersFirst());
        int deleted = 0;
        for (FileObject f : order) {
            try {
                f.delete();
            } catch (FileSystemException x) {
                String detail = deleted + " of " + order.size() + " objects deleted (completion marker first, so what is "
                        + "left is not taken for a complete checkpoint): " + ErrorLine.causes(x);
                if (deleted == 0) {
                    throw new IOException(detail, x);
                }
                throw new CutShortException(detail, x);
            }
            deleted++;
            if (deleted == 1) {
                moved.accept(f.getName().getBaseName());
            }
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < seen.size(); i++) {
            if (seen.get(i) != null) {
                names.add(seen.get(i).name());
            }
        }
        return new Moved(names, null);
    }

    @Override
    public long[] purge(String manifestFile, List<TrashManifest> moved, Executor unlinkers) throws IOException {
        FileObject trash = entries.trash(false);
        if (trash != null) {
            trash.resolveFile(manifestFile, NameScope.CHILD).delete();
        }
        long[] freed = new long[moved.size()];
        for (int k = 0; k < freed.length; k++) {
            freed[k] = moved.get(k).bytes();
        }
        return freed;
    }

    /** The checkpoint's members in place now, or null when the manifest's parent is not a directory below the root. */
    private FileObject parentOf(TrashManifest m) throws IOException {
        return entries.directory(entries.rootPath().getFileSystem().getPath(m.parent()));
    }

    private boolean untouched(FileObject parent, TrashManifest m) throws IOException {
        for (EntrySnapshot member : m.members()) {
            FileObject f = parent == null ? null : RemoteEntries.child(parent, member.name());
            if (f == null || !entries.snapshot(f, member.name()).equals(member)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Nothing deleted yet (every member exactly as recorded): left in place. Otherwise the deletion had
     * begun and the checkpoint is already incomplete: what is left of it goes, except an object newer
     * than the manifest recorded (written since, not this eviction's).
     */
    @Override
    public Recovered rollForward(TrashManifest m) throws IOException {
        FileObject parent;
        try {
            parent = parentOf(m);
        } catch (UnsafePathException unsafe) {
            return new Recovered(m, false, false, "interrupted before the first deletion; " + unsafe.getMessage());
        }
        if (untouched(parent, m)) {
            return new Recovered(m, false, false, "interrupted before the first deletion; checkpoint left in place");
        }
        int deleted = 0;
        List<String> left = new ArrayList<>();
        for (EntrySnapshot member : m.members()) {
            FileObject f = parent == null ? null : RemoteEntries.child(parent, member.name());
            if (f == null) {
                continue;
            }
            for (FileObject o : f.getType() == FileType.FOLDER ? entries.files(f, null) : List.of(f)) {
                if (o.getContent().getLastModifiedTime() > member.modifiedMillis()) {
                    left.add(o.getName().getBaseName());
                    continue;
                }
                o.delete();
                deleted++;
            }
        }
        String detail = "finished after restart: deleted " + deleted + " remaining object(s)";
        if (!left.isEmpty()) {
            detail += "; left in place because they are newer than the eviction: " + String.join(", ", left);
        }
        return new Recovered(m, true, false, detail);
    }

    /** Objects once deleted cannot come back: a checkpoint whose deletion had begun stays incomplete. */
    @Override
    public Recovered putBack(TrashManifest m) throws IOException {
        FileObject parent;
        try {
            parent = parentOf(m);
        } catch (UnsafePathException unsafe) {
            parent = null;
        }
        String detail = untouched(parent, m) ? "pinned since the eviction began: nothing had been deleted"
                : "pinned since the eviction began, but its deletion had begun: what is left stays, incomplete";
        return new Recovered(m, false, true, detail);
    }

    /** Deletes the verified manifests only: the objects of their evictions are gone or left on purpose. */
    @Override
    public Purge purgeRecovered(List<String> manifestFiles, List<TrashManifest> recovered) throws IOException {
        FileObject trash = entries.trash(false);
        List<String> problems = new ArrayList<>();
        int deleted = 0;
        for (String name : manifestFiles) {
            try {
                FileObject f = RemoteEntries.child(trash, name);
                if (f != null && f.delete()) {
                    deleted++;
                }
            } catch (IOException x) {
                problems.add(trashName() + "/" + name + ": cannot delete: " + ErrorLine.causes(x));
            }
        }
        return new Purge(deleted, 0, problems);
    }

    @Override
    public void close() {
        // the remote connection belongs to the pass that opened it
    }
}
