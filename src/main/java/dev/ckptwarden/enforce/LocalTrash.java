package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.enforce.Outcome.Skip;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * The deletion protocol's backend for a local root: looks through directory descriptors opened with
 * {@code O_NOFOLLOW} from the root's ({@link RootDirectory}), moves by {@code renameat} into the root's
 * {@link TrashBin}, which is the one class that removes checkpoint files from a local disk. A checkpoint
 * on another file system mounted inside the root goes into that file system's own trash
 * ({@link FileSystemTrashes}); a batch's manifest file is then stored in each trash its checkpoints go
 * to, holding the lines of those checkpoints only, so that each trash recovers on its own.
 *
 * <p>For recovery a backend is opened per trash (the root's, or one mount point's): rolling forward,
 * putting back and purging work on that trash only.
 */
final class LocalTrash implements TrashBackend {
    private final RootDirectory dir;
    private final int batchSize;
    /** Null for a dry run or {@code action: report}: nothing is moved, and no trash is opened. */
    private final TrashBin trash;
    /** The trash of each file system of the root; null when {@code trash} is. */
    private final FileSystemTrashes trashes;
    /**
     * Per stored manifest file, until its purge: the trash each of its evictions goes to, and the trashes that
     * hold the file. Keyed by the file's name, because a batch's purge may still run on another thread while
     * the next batch stores its manifest.
     */
    private final Map<String, Stored> stored = new ConcurrentHashMap<>();
    /** The run directories the current batch looks into, each opened once and shared by its checkpoints. */
    private final Map<Path, SecureDirectoryStream<Path>> parents = new HashMap<>();

    LocalTrash(RootDirectory dir, TrashBin trash) {
        this(dir, trash, Enforcer.BATCH);
    }

    /** @param batchSize how many evictions share a batch (the crash tests make it small, to cross batches) */
    LocalTrash(RootDirectory dir, TrashBin trash, int batchSize) {
        this.batchSize = batchSize;
        this.dir = dir;
        this.trash = trash;
        this.trashes = trash == null ? null : new FileSystemTrashes(dir, trash);
    }

    /** Where one manifest file's evictions go: their trash by eviction id, and the trashes holding the file. */
    private record Stored(Map<String, TrashBin> trashOf, Set<TrashBin> holding) {
    }

    /** A look through the parent's descriptor, kept open until the batch ends. */
    record LocalLook(Refusal refused, CheckpointEntries.Observed observed, SecureDirectoryStream<Path> parent,
                     Path rootPath) implements Look {
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public boolean purgesAside() {
        return true;
    }

    @Override
    public Path shown() {
        return dir.path();
    }

    @Override
    public String trashName() {
        return (trash != null ? trash.path() : dir.path().resolve(TrashBin.DIR_NAME)).toString();
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
            return refused(Skip.SYMBOLIC_LINK, dir.path().resolve(u.where()) + ": " + u.why());
        } catch (NotDirectoryException nd) {
            return refused(Skip.CHANGED_SINCE_PLANNED, dir.path().resolve(nd.getFile()) + " is no longer a directory");
        }
        CheckpointEntries.Observed seen;
        try {
            seen = where.observe(parent);
        } catch (UnsafePathException u) {
            return refused(Skip.SYMBOLIC_LINK, dir.path().resolve(where.parent()).resolve(u.where()) + ": " + u.why());
        } catch (NotDirectoryException nd) {
            return refused(Skip.CHANGED_SINCE_PLANNED, nd.getFile() + " is no longer a directory");
        }
        String link = seen.symbolicLink();
        if (link != null) {
            return refused(Skip.SYMBOLIC_LINK, dir.path().resolve(where.parent()).resolve(link) + " is a symbolic link");
        }
        if (trashes != null && !seen.allMissing()) {
            trashes.forDirectory(where.parent(), parent); // fails here, before a manifest names it, when it has no trash
        }
        return new LocalLook(null, seen, parent, dir.path());
    }

    private static LocalLook refused(Skip why, String detail) {
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

    /**
     * Stores each line in the trash its checkpoint goes to (one file of the same name per trash); when one
     * cannot be stored, the files already stored are forgotten again and nothing of the batch moves.
     */
    @Override
    public String storeManifest(String fileId, List<Signed> signed) throws IOException {
        Map<String, TrashBin> trashOf = new HashMap<>();
        Map<TrashBin, ByteArrayOutputStream> lines = new LinkedHashMap<>();
        for (Signed line : signed) {
            TrashBin bin = trashes.chosen(dir.path().getFileSystem().getPath(line.manifest().parent()));
            trashOf.put(line.manifest().id(), bin);
            lines.computeIfAbsent(bin, b -> new ByteArrayOutputStream()).writeBytes(line.line());
        }
        if (lines.isEmpty()) {
            lines.put(trash, new ByteArrayOutputStream());
        }
        Set<TrashBin> holding = new LinkedHashSet<>();
        Path name = null;
        try {
            for (Map.Entry<TrashBin, ByteArrayOutputStream> e : lines.entrySet()) {
                name = e.getKey().writeManifestFile(fileId, e.getValue().toByteArray());
                holding.add(e.getKey());
            }
        } catch (IOException | RuntimeException x) {
            for (TrashBin b : holding) {
                try {
                    b.forget(name);
                } catch (IOException ignored) {
                    // a manifest whose members never moved: the next start finds them whole in place
                }
            }
            throw x;
        }
        stored.put(name.toString(), new Stored(trashOf, holding));
        return name.toString();
    }

    @Override
    public Moved moveToTrash(Look look, TrashManifest manifest, Consumer<String> moved) throws IOException {
        LocalLook l = (LocalLook) look;
        CheckpointEntries where = l.observed().where();
        CheckpointEntries.Observed again;
        try {
            again = where.observe(l.parent());
        } catch (UnsafePathException u) {
            return Moved.refused(Skip.SYMBOLIC_LINK, dir.path().resolve(where.parent()).resolve(u.where()) + ": " + u.why());
        } catch (NotDirectoryException nd) {
            return Moved.refused(Skip.CHANGED_SINCE_PLANNED, nd.getFile() + " is no longer a directory");
        }
        if (again.allMissing()) {
            return new Moved(List.of(), null);
        }
        if (!again.entries().equals(l.observed().entries())) {
            return Moved.refused(Skip.CHANGED_SINCE_PLANNED, "changed after its last look, before the rename");
        }
        TrashBin bin = trashOf(manifest.id());
        try {
            return new Moved(bin.moveMembers(l.parent(), manifest, moved), null);
        } catch (IOException e) {
            throw trashes.explain(e, where.parent(), bin);
        }
    }

    /** The trash an eviction of a stored manifest goes to: the root's unless its directory is on another file system. */
    private TrashBin trashOf(String evictionId) {
        for (Stored st : stored.values()) {
            TrashBin bin = st.trashOf().get(evictionId);
            if (bin != null) {
                return bin;
            }
        }
        return trash;
    }

    /** Settles the batch in each trash that holds its manifest file, with the evictions that went there. */
    @Override
    public long[] purge(String manifestFile, List<TrashManifest> moved, Executor unlinkers) throws IOException {
        Stored st = stored.remove(manifestFile);
        Set<TrashBin> holding = st == null ? Set.of() : st.holding();
        if (holding.size() <= 1) {
            TrashBin only = holding.isEmpty() ? trash : holding.iterator().next();
            return only.settle(dir.name(manifestFile), moved, unlinkers);
        }
        long[] freed = new long[moved.size()];
        IOException failed = null;
        for (TrashBin bin : holding) {
            List<Integer> at = new ArrayList<>();
            List<TrashManifest> here = new ArrayList<>();
            for (int k = 0; k < moved.size(); k++) {
                if (st.trashOf().getOrDefault(moved.get(k).id(), trash) == bin) {
                    at.add(k);
                    here.add(moved.get(k));
                }
            }
            long[] f;
            try {
                f = bin.settle(dir.name(manifestFile), here, unlinkers);
            } catch (PartialPurgeException x) {
                f = x.freed();
                failed = x;
            } catch (IOException x) {
                f = new long[here.size()];
                Arrays.fill(f, -1);
                failed = x;
            }
            for (int j = 0; j < at.size(); j++) {
                freed[at.get(j)] = f[j];
            }
        }
        if (failed != null) {
            throw new PartialPurgeException(freed, failed);
        }
        return freed;
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
    public void close() throws IOException {
        endBatch();
        if (trashes != null) {
            trashes.close();
        }
    }
}
