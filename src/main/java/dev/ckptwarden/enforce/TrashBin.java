package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.errors.ErrorLine;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One root's trash, {@code <root>/.ckpt-warden-trash/}: the first phase of every deletion is a
 * rename into it (atomic, same file system, so a training job's resume never sees half a
 * checkpoint), the second phase deletes it from there. An eviction with id {@code <id>} first
 * writes a manifest {@code <id>.manifest.json} naming its members (written aside, forced to disk,
 * renamed into place), then renames member {@code i} to {@code <id>.<i>}, so a restart can tell
 * which eviction a file belongs to and roll an interrupted multi-file move forward
 * ({@link LocalTrash#rollForward}, {@link TrashRecovery}). This is the one class that removes
 * checkpoint files from a local disk (the local {@link TrashBackend} is {@link LocalTrash}).
 *
 * <p>Every operation after the trash is opened is relative to directory descriptors opened with
 * {@code O_NOFOLLOW} ({@link SecureDirectoryStream}: {@code renameat}, {@code unlinkat},
 * {@code openat}); no path string is resolved again. A symbolic link inside the trash is removed
 * itself, never what it points at. An open trash holds an exclusive lock on {@code <trash>/.lock},
 * so two enforcement passes never work on one root at the same time.
 *
 * <p>Why this class is long: every {@code unlinkat} of a local checkpoint file is in it, on purpose, so
 * that "what can remove a checkpoint from this disk" is answered by reading one file (opening the
 * trash is already {@link TrashDirectory}).
 *
 * <p>A root may be writable by other users (a shared scratch directory), so nothing they can write
 * there may direct a deletion: the trash is created {@code 0700} and refused
 * ({@link UntrustedTrashException}: nothing moved, rolled forward or purged) when it is a link, not
 * owned by the agent's user, or writable by group or others ({@link TrashDirectory}); and a manifest is used only when it
 * carries a valid HMAC under the state directory's {@link ManifestKey} and its names stay inside
 * their directory ({@link TrashManifest}).
 *
 * <p>A directory inside the root that is the mount point of another file system (a run on its own
 * disk) cannot rename into the root's trash; its checkpoints go through a trash of the same kind at
 * that mount point, {@code <mount point>/.ckpt-warden-trash/} ({@link #openAt}, {@link FileSystemTrashes}),
 * held to the same rules, its manifests naming their parents relative to the root as everywhere.
 */
public final class TrashBin implements Closeable {
    /** The trash directory's name inside each root (the catalog never descends into it). */
    public static final String DIR_NAME = Cataloger.TRASH_DIR;
    static final String LOCK_NAME = ".lock";
    static final String MANIFEST_SUFFIX = ".manifest.json";
    /** A manifest being written; never read, purged like any leftover. */
    static final String PARTIAL_SUFFIX = ".manifest.partial";
    /** A member of a pinned checkpoint that could not be put back ({@link #keep}); never purged. */
    static final String KEPT_SUFFIX = ".kept";

    private static final Set<OpenOption> CREATE_NEW = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);
    private static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

    private final RootDirectory root;
    /** The directory the trash is in, relative to the root: empty for the root's own trash. */
    private final Path base;
    private final boolean ownsRoot;
    /** Signs and verifies manifests; null for a trash used only as a staging area (no manifests). */
    private final ManifestKey key;
    /** Entries {@link #purge()} leaves this time: members of a pinned checkpoint that could not be renamed to kept. */
    private final Set<Path> kept = new java.util.HashSet<>();
    private final SecureDirectoryStream<Path> trash;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private TrashBin(RootDirectory root, Path base, boolean ownsRoot, ManifestKey key, SecureDirectoryStream<Path> trash,
                     FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.base = base;
        this.ownsRoot = ownsRoot;
        this.key = key;
        this.trash = trash;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens (creating if needed) the trash of the root at {@code rootDir} and takes its lock.
     *
     * @throws SecureDeletionUnavailableException when the file system has no secure directory streams
     * @param key                               signs and verifies manifests; null when the trash is
     *                                            only a staging area (then it writes and honours none)
     * @throws EnforcementBusyException           when another pass holds the lock
     * @throws UntrustedTrashException            when the trash is a link, another user's, or writable by others
     * @throws IOException                        when the trash is not a directory
     */
    public static TrashBin open(Path rootDir, ManifestKey key) throws IOException {
        RootDirectory root = RootDirectory.open(rootDir);
        try {
            return open(root, true, key);
        } catch (IOException | RuntimeException e) {
            root.close();
            throw e;
        }
    }

    /** Opens the trash of an already opened root; closing the trash leaves the root open. */
    static TrashBin open(RootDirectory root, ManifestKey key) throws IOException {
        return open(root, false, key);
    }

    private static TrashBin open(RootDirectory root, boolean ownsRoot, ManifestKey key) throws IOException {
        TrashDirectory.Locked t = TrashDirectory.openLocked(root, DIR_NAME, LOCK_NAME);
        return new TrashBin(root, root.name(""), ownsRoot, key, t.trash(), t.lockChannel(), t.lock());
    }

    /**
     * Opens (creating if needed) the trash of the directory {@code base} of an opened root (relative to
     * it, reached without following a link): the trash of another file system mounted there. Closing
     * it leaves the root open.
     *
     * @throws EnforcementBusyException when another pass holds its lock
     * @throws UntrustedTrashException  when it is a link, another user's, or writable by others
     */
    static TrashBin openAt(RootDirectory root, Path base, ManifestKey key) throws IOException {
        try (SecureDirectoryStream<Path> dir = root.openDirectory(base)) {
            TrashDirectory.Locked t = TrashDirectory.openLocked(dir, root.path().resolve(base), DIR_NAME, LOCK_NAME);
            return new TrashBin(root, base, false, key, t.trash(), t.lockChannel(), t.lock());
        }
    }

    /** {@code <root>/.ckpt-warden-trash}, or {@code <mount point>/.ckpt-warden-trash} for a file system mounted inside the root. */
    public Path path() {
        return root.path().resolve(base).resolve(DIR_NAME);
    }

    /** The directory this trash is in, relative to the root (empty for the root's own trash). */
    Path base() {
        return base;
    }

    /** The key this trash signs and verifies manifests with (null for a staging area). */
    ManifestKey key() {
        return key;
    }

    /** The trash name of member {@code index} of eviction {@code id}. */
    private Path memberName(String id, int index) {
        return root.name(id + "." + index);
    }

    /**
     * Writes a batch's signed manifest lines as one file (written aside, forced to disk, renamed into
     * place, and the trash directory forced with it) before anything of the batch moves: every member
     * renamed afterwards is named by a durable manifest, and a batch pays for two {@code fsync}s
     * instead of two per eviction.
     *
     * @return the manifest file's name in the trash, for {@link #settle(Path, List)}
     */
    Path writeManifestFile(String fileId, byte[] signedLines) throws IOException {
        if (key == null) {
            throw new IllegalStateException("this trash was opened without a manifest key");
        }
        Path partial = root.name(fileId + PARTIAL_SUFFIX);
        Path file = root.name(fileId + MANIFEST_SUFFIX);
        boolean created = false;
        boolean placed = false;
        try {
            try (SeekableByteChannel ch = trash.newByteChannel(partial, CREATE_NEW)) {
                created = true;
                ByteBuffer b = ByteBuffer.wrap(signedLines);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                force(ch);
            }
            trash.move(partial, trash, file);
            placed = true;
            syncDirectory(trash);
            return file;
        } catch (IOException | RuntimeException e) {
            // Nothing of the batch moves after a failure here (ENOSPC is the usual one), so whatever this
            // wrote is taken away now rather than left for the next start's recovery to find: a manifest in
            // place whose directory was not forced, or the temporary (never the name CREATE_NEW refused).
            if (created) {
                try {
                    deleteIfPresent(placed ? file : partial);
                } catch (IOException | RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /**
     * Renames a checkpoint's members from {@code from} into the trash, one by one, under a manifest
     * already written by {@link #writeManifestFile}. A member already gone is skipped. When a rename
     * fails, the members moved so far are renamed back (never over a file that appeared in their
     * place) and the exception is rethrown; what cannot be put back stays in the trash with its
     * manifest, for {@link TrashRecovery} to finish at the next start.
     *
     * @param renamed told the name of each member right after its rename
     * @return the names moved; empty when every member was already gone
     */
    List<String> moveMembers(SecureDirectoryStream<Path> from, TrashManifest manifest, Consumer<String> renamed)
            throws IOException {
        String id = manifest.id();
        List<String> moved = new ArrayList<>();
        List<Integer> movedIndex = new ArrayList<>();
        try {
            for (int i = 0; i < manifest.members().size(); i++) {
                Path n = root.name(manifest.members().get(i).name());
                try {
                    from.move(n, trash, memberName(id, i));
                } catch (NoSuchFileException e) {
                    if (exists(from, n)) {
                        throw new IOException(path() + ": trash vanished during the move", e);
                    }
                    continue; // already gone: success
                }
                moved.add(n.toString());
                movedIndex.add(i);
                renamed.accept(n.toString());
            }
        } catch (IOException | RuntimeException e) {
            List<String> stuck = rollBack(from, manifest, movedIndex);
            if (stuck.isEmpty()) {
                throw e;
            }
            throw new IOException(e.getMessage() + "; " + stuck.size() + " member(s) left in " + path()
                    + " for the next start to finish", e);
        }
        return moved;
    }

    /** Renames moved members back where they were, last first; returns those that could not go back. */
    List<String> rollBack(SecureDirectoryStream<Path> from, TrashManifest manifest, List<Integer> moved) {
        List<String> stuck = new ArrayList<>();
        for (int k = moved.size() - 1; k >= 0; k--) {
            int i = moved.get(k);
            Path n = root.name(manifest.members().get(i).name());
            try {
                if (exists(from, n)) {
                    stuck.add(n.toString()); // something new took its place: never rename over it
                } else {
                    trash.move(memberName(manifest.id(), i), from, n);
                }
            } catch (IOException | RuntimeException e) {
                stuck.add(n.toString());
            }
        }
        return stuck;
    }

    /**
     * Ends a batch whose evictions have all been recorded (or found whole in place): forgets the
     * batch's manifest file first, then deletes the members of {@code moved} from the trash, shared out
     * over {@code unlinkers} (null: on this thread).
     *
     * @return bytes of regular files deleted, per manifest of {@code moved}, in its order
     */
    long[] settle(Path manifestFile, List<TrashManifest> moved, Executor unlinkers) throws IOException {
        deleteIfPresent(manifestFile);
        long[] freed = new long[moved.size()];
        IOException[] failed = new IOException[moved.size()];
        // An unlink mostly waits: for the journal (a commit in progress holds every new handle back), and for a
        // big file, for its extents to be freed; the directory's lock is held only for the name. Several at once
        // share those waits: 20 fallocated files of 256 MiB took 1.6 s one by one, 0.15 s on 8 threads; 5,000
        // small ones 7.9 s and 1.1 s on 4 (a loaded 2-core machine; bench/README.md). Each task takes every
        // n-th checkpoint, so a batch of a few big ones is shared out as well as a thousand small ones.
        int tasks = unlinkers == null ? 1 : Math.min(moved.size(), PURGE_TASKS);
        List<CompletableFuture<Void>> running = new ArrayList<>(tasks);
        for (int t = 1; t < tasks; t++) {
            int first = t;
            running.add(CompletableFuture.runAsync(() -> deleteEvery(moved, first, tasks, freed, failed), unlinkers));
        }
        deleteEvery(moved, 0, tasks, freed, failed);
        for (CompletableFuture<Void> r : running) {
            r.join(); // deleteEvery catches its IOExceptions: nothing else is thrown here but an Error
        }
        for (IOException e : failed) {
            if (e != null) {
                throw new PartialPurgeException(freed, e);
            }
        }
        return freed;
    }

    /** How many deletions of one batch run at once ({@link #settle}). */
    static final int PURGE_TASKS = 8;

    private void deleteEvery(List<TrashManifest> moved, int first, int step, long[] freed, IOException[] failed) {
        for (int k = first; k < moved.size(); k += step) {
            try {
                freed[k] = deleteMembers(moved.get(k));
            } catch (IOException e) {
                freed[k] = -1;
                failed[k] = e;
            }
        }
    }

    private long deleteMembers(TrashManifest manifest) throws IOException {
        long bytes = 0;
        for (int i = 0; i < manifest.members().size(); i++) {
            bytes += deleteEntry(trash, memberName(manifest.id(), i));
        }
        return bytes;
    }

    /**
     * Deletes one entry of the trash by name (a restore's staging directory), through descriptors.
     *
     * @return bytes of regular files deleted
     */
    long deleteFromTrash(String name) throws IOException {
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || name.equals(LOCK_NAME)) {
            throw new IllegalArgumentException("not an entry of the trash: " + name);
        }
        return deleteEntry(trash, root.name(name));
    }

    /** Forgets a manifest file that was stored for a batch that then moved nothing here. */
    void forget(Path manifestFile) throws IOException {
        deleteIfPresent(manifestFile);
    }

    private void deleteIfPresent(Path name) throws IOException {
        try {
            trash.deleteFile(name);
        } catch (NoSuchFileException gone) {
            // already deleted
        }
    }

    private void syncDirectory(SecureDirectoryStream<Path> dir) throws IOException {
        try (SeekableByteChannel ch = dir.newByteChannel(root.name("."), Set.of(StandardOpenOption.READ))) {
            force(ch);
        }
    }

    private static void force(SeekableByteChannel ch) throws IOException {
        if (!(ch instanceof FileChannel fc)) {
            throw new IOException("cannot force " + ch.getClass().getName() + " to disk");
        }
        fc.force(true);
    }

    private static boolean exists(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        try {
            RootDirectory.lstat(dir, name);
            return true;
        } catch (NoSuchFileException absent) {
            return false;
        }
    }

    /**
     * Deletes everything in the trash (manifests first, so that a crash in the middle can never make
     * a restart roll anything forward), except the lock. Failures are collected, not thrown.
     */
    TrashBackend.Purge purge() throws IOException {
        List<Path> names = RootDirectory.names(trash, root.name("."));
        List<Path> ordered = new ArrayList<>();
        names.stream().filter(n -> n.toString().endsWith(MANIFEST_SUFFIX)).forEach(ordered::add);
        names.stream().filter(n -> !n.toString().endsWith(MANIFEST_SUFFIX) && !n.toString().equals(LOCK_NAME)
                        && !n.toString().endsWith(KEPT_SUFFIX) && !kept.contains(n))
                .forEach(ordered::add);
        int entries = 0;
        long bytes = 0;
        List<String> problems = new ArrayList<>();
        for (Path n : ordered) {
            try {
                bytes += deleteEntry(trash, n);
                entries++;
            } catch (IOException e) {
                problems.add(path().resolve(n) + ": cannot delete: " + ErrorLine.withFile(e));
            }
        }
        return new TrashBackend.Purge(entries, bytes, problems);
    }

    /**
     * Deletes the entry {@code name} of {@code dir}, a whole tree if it is a directory, through
     * descriptors only: each sub-directory is opened with {@code O_NOFOLLOW}, links are unlinked
     * themselves, and a directory swapped for a link mid-way is unlinked as the link it became.
     *
     * @return bytes of regular files deleted
     */
    static long deleteEntry(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        BasicFileAttributes a;
        try {
            a = RootDirectory.lstat(dir, name);
        } catch (NoSuchFileException gone) {
            return 0;
        }
        if (a.isDirectory()) {
            long bytes = 0;
            try (SecureDirectoryStream<Path> sub = RootDirectory.openChild(dir, name, name)) {
                for (Path n : RootDirectory.names(sub, name.getFileSystem().getPath("."))) {
                    bytes += deleteEntry(sub, n);
                }
            } catch (UnsafePathException | NotDirectoryException swapped) {
                return unlink(dir, name, 0);
            } catch (NoSuchFileException gone) {
                return bytes;
            }
            try {
                dir.deleteDirectory(name);
            } catch (NoSuchFileException gone) {
                // removed by someone else meanwhile: the goal is reached
            }
            return bytes;
        }
        return unlink(dir, name, a.isRegularFile() ? a.size() : 0);
    }

    private static long unlink(SecureDirectoryStream<Path> dir, Path name, long bytes) throws IOException {
        try {
            dir.deleteFile(name);
            return bytes;
        } catch (NoSuchFileException gone) {
            return 0;
        }
    }

    /** The names of the manifest files in the trash. */
    List<String> manifestNames() throws IOException {
        List<String> out = new ArrayList<>();
        for (Path n : RootDirectory.names(trash, root.name("."))) {
            if (n.toString().endsWith(MANIFEST_SUFFIX)) {
                out.add(n.toString());
            }
        }
        return out;
    }

    /** Whether member {@code index} of eviction {@code id} is in the trash. */
    boolean holds(String id, int index) throws IOException {
        return exists(trash, memberName(id, index));
    }

    /** Renames {@code name} of {@code from} into the trash as member {@code index} of eviction {@code id}. */
    void moveInto(SecureDirectoryStream<Path> from, Path name, String id, int index) throws IOException {
        from.move(name, trash, memberName(id, index));
    }

    /**
     * Member {@code index} of eviction {@code id} is never to be purged: it belongs to a pinned checkpoint
     * and could not be put back. It is renamed {@code <id>.<index>.kept}, a name no purge deletes, because
     * its manifest is purged now and a later start would otherwise take it for a leftover.
     *
     * @return its name in the trash from now on
     */
    Path keep(String id, int index) {
        Path keptName = root.name(id + "." + index + KEPT_SUFFIX);
        try {
            trash.move(memberName(id, index), trash, keptName);
            return keptName;
        } catch (IOException | RuntimeException e) {
            kept.add(memberName(id, index)); // at least this start's purge leaves it
            return memberName(id, index);
        }
    }

    /** The root this trash belongs to. */
    RootDirectory root() {
        return root;
    }

    byte[] read(Path name) throws IOException {
        try (SeekableByteChannel ch = trash.newByteChannel(name, READ)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) > 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
                if (out.size() > 16 << 20) {
                    throw new IOException("manifest larger than 16 MiB");
                }
            }
            return out.toByteArray();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
            lockChannel.close();
            trash.close();
        } finally {
            if (ownsRoot) {
                root.close();
            }
        }
    }
}
