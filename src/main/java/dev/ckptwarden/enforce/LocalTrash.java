package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The deletion protocol's backend for a local root: looks through directory descriptors opened with
 * {@code O_NOFOLLOW} from the root's ({@link RootDirectory}), moves by {@code renameat} into the root's
 * {@link TrashBin}, which is the one class that removes checkpoint files from a local disk.
 */
final class LocalTrash implements TrashBackend {
    private final RootDirectory dir;
    /** Null for a dry run or {@code action: report}: nothing is moved, and no trash is opened. */
    private final TrashBin trash;
    /** The run directories the current batch looks into, each opened once and shared by its checkpoints. */
    private final Map<Path, SecureDirectoryStream<Path>> parents = new HashMap<>();

    LocalTrash(RootDirectory dir, TrashBin trash) {
        this.dir = dir;
        this.trash = trash;
    }

    /** A look through the parent's descriptor, kept open until the batch ends. */
    record LocalLook(Refusal refused, CheckpointEntries.Observed observed, SecureDirectoryStream<Path> parent,
                     Path rootPath) implements Look {
    }

    @Override
    public int batchSize() {
        return Enforcer.BATCH;
    }

    @Override
    public Path shown() {
        return dir.path();
    }

    @Override
    public String trashName() {
        return dir.path().resolve(TrashBin.DIR_NAME).toString();
    }

    @Override
    public Look look(Checkpoint c) throws IOException {
        CheckpointEntries where = CheckpointEntries.of(c, dir.path());
        SecureDirectoryStream<Path> parent;
        try {
            parent = parent(where.parent());
        } catch (NoSuchFileException gone) {
            return new LocalLook(null, new CheckpointEntries.Observed(where,
                    Arrays.asList(new EntrySnapshot[where.names().size()])), null, dir.path());
        } catch (UnsafePathException u) {
            return refused("symbolic link", dir.path().resolve(u.where()) + ": " + u.why());
        } catch (NotDirectoryException nd) {
            return refused("changed since planned", dir.path().resolve(nd.getFile()) + " is no longer a directory");
        }
        CheckpointEntries.Observed seen;
        try {
            seen = where.observe(parent);
        } catch (UnsafePathException u) {
            return refused("symbolic link", dir.path().resolve(where.parent()).resolve(u.where()) + ": " + u.why());
        } catch (NotDirectoryException nd) {
            return refused("changed since planned", nd.getFile() + " is no longer a directory");
        }
        String link = seen.symbolicLink();
        if (link != null) {
            return refused("symbolic link", dir.path().resolve(where.parent()).resolve(link) + " is a symbolic link");
        }
        return new LocalLook(null, seen, parent, dir.path());
    }

    private static LocalLook refused(String why, String detail) {
        return new LocalLook(new Refusal(why, detail), null, null, null);
    }

    private SecureDirectoryStream<Path> parent(Path parent) throws IOException {
        SecureDirectoryStream<Path> s = parents.get(parent);
        if (s == null) {
            s = dir.openDirectory(parent);
            parents.put(parent, s);
        }
        return s;
    }

    @Override
    public void endBatch() {
        for (SecureDirectoryStream<Path> s : parents.values()) {
            try {
                s.close();
            } catch (IOException ignored) {
                // a directory descriptor that fails to close has nothing left to lose
            }
        }
        parents.clear();
    }

    @Override
    public String storeManifest(String fileId, byte[] signedLines) throws IOException {
        return trash.writeManifestFile(fileId, signedLines).toString();
    }

    @Override
    public Moved moveToTrash(Look look, TrashManifest manifest, Consumer<String> moved) throws IOException {
        LocalLook l = (LocalLook) look;
        CheckpointEntries where = l.observed().where();
        CheckpointEntries.Observed again;
        try {
            again = where.observe(l.parent());
        } catch (UnsafePathException u) {
            return Moved.refused("symbolic link", dir.path().resolve(where.parent()).resolve(u.where()) + ": " + u.why());
        } catch (NotDirectoryException nd) {
            return Moved.refused("changed since planned", nd.getFile() + " is no longer a directory");
        }
        if (again.allMissing()) {
            return new Moved(List.of(), null);
        }
        if (!again.entries().equals(l.observed().entries())) {
            return Moved.refused("changed since planned", "changed after its last look, before the rename");
        }
        return new Moved(trash.moveMembers(l.parent(), manifest, moved), null);
    }

    @Override
    public long[] purge(String manifestFile, List<TrashManifest> moved) throws IOException {
        return trash.settle(dir.name(manifestFile), moved);
    }

    @Override
    public List<String> manifestFiles() throws IOException {
        return trash.manifestNames();
    }

    @Override
    public byte[] readManifest(String name) throws IOException {
        return trash.read(dir.name(name));
    }

    /**
     * For a multi-file checkpoint of which some members reached the trash, the members still in place
     * are moved after them if each is still exactly what the manifest recorded (anything else is new and
     * stays); an eviction that moved nothing leaves the checkpoint whole where it is.
     */
    @Override
    public Recovered rollForward(TrashManifest m) throws IOException {
        List<Integer> notInTrash = new ArrayList<>();
        for (int i = 0; i < m.members().size(); i++) {
            if (!trash.holds(m.id(), i)) {
                notInTrash.add(i);
            }
        }
        Path parent = dir.path().getFileSystem().getPath(m.parent());
        if (notInTrash.size() == m.members().size()) {
            return inPlaceOnly(m, parent);
        }
        if (notInTrash.isEmpty()) {
            return new Recovered(m, true, false, "finished after restart");
        }
        int movedNow = 0;
        List<String> left = new ArrayList<>();
        try (SecureDirectoryStream<Path> from = dir.openDirectory(parent)) {
            for (int i : notInTrash) {
                EntrySnapshot member = m.members().get(i);
                Path n = dir.name(member.name());
                EntrySnapshot now;
                try {
                    now = EntrySnapshot.read(from, n);
                } catch (NoSuchFileException gone) {
                    continue;
                }
                if (!now.equals(member)) {
                    left.add(member.name());
                    continue;
                }
                try {
                    trash.moveInto(from, n, m.id(), i);
                    movedNow++;
                } catch (NoSuchFileException gone) {
                    // gone meanwhile: nothing left to move
                }
            }
        } catch (NoSuchFileException parentGone) {
            return new Recovered(m, true, false, "finished after restart (its directory is gone)");
        } catch (UnsafePathException | NotDirectoryException unsafe) {
            return new Recovered(m, true, false, "finished after restart, but " + unsafe.getMessage()
                    + ": remaining members not moved");
        }
        String detail = "finished after restart: moved " + movedNow + " remaining member(s)";
        if (!left.isEmpty()) {
            detail += "; left in place because they changed: " + String.join(", ", left);
        }
        return new Recovered(m, true, false, detail);
    }

    /** Nothing reached the trash: the checkpoint is whole in place, or was gone before the move. */
    private Recovered inPlaceOnly(TrashManifest m, Path parent) throws IOException {
        try (SecureDirectoryStream<Path> from = dir.openDirectory(parent)) {
            for (EntrySnapshot member : m.members()) {
                try {
                    RootDirectory.lstat(from, dir.name(member.name()));
                    return new Recovered(m, false, false, "interrupted before the first rename; checkpoint left in place");
                } catch (NoSuchFileException absent) {
                    // look at the next member
                }
            }
        } catch (NoSuchFileException parentGone) {
            return new Recovered(m, true, false, "already gone");
        } catch (UnsafePathException | NotDirectoryException unsafe) {
            return new Recovered(m, false, false, "interrupted before the first rename; " + unsafe.getMessage());
        }
        return new Recovered(m, true, false, "already gone");
    }

    @Override
    public Recovered putBack(TrashManifest m) throws IOException {
        List<Integer> inTrash = new ArrayList<>();
        for (int i = 0; i < m.members().size(); i++) {
            if (trash.holds(m.id(), i)) {
                inTrash.add(i);
            }
        }
        List<String> stuck;
        try (SecureDirectoryStream<Path> from = dir.openDirectory(dir.path().getFileSystem().getPath(m.parent()))) {
            stuck = trash.rollBack(from, m, inTrash);
        } catch (NoSuchFileException | UnsafePathException | NotDirectoryException noPlace) {
            stuck = new ArrayList<>();
            for (int i : inTrash) {
                stuck.add(m.members().get(i).name());
            }
        }
        String detail = "pinned since the eviction began: put back " + (inTrash.size() - stuck.size()) + " member(s)";
        if (!stuck.isEmpty()) {
            List<String> keptAs = new ArrayList<>();
            for (int i : inTrash) {
                if (stuck.contains(m.members().get(i).name())) {
                    keptAs.add(m.members().get(i).name() + " as " + trash.keep(m.id(), i));
                }
            }
            detail += "; kept in " + trash.path() + " because their place is taken: " + String.join(", ", keptAs);
        }
        return new Recovered(m, false, true, detail);
    }

    /** The local trash is the agent's own ({@code 0700}, checked when opened): everything in it goes. */
    @Override
    public Purge purgeRecovered(List<String> manifestFiles, List<TrashManifest> recovered) throws IOException {
        return trash.purge();
    }

    @Override
    public void close() {
        endBatch();
    }
}
