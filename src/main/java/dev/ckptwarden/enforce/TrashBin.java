package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Cataloger;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * One root's trash, {@code <root>/.ckpt-warden-trash/}: the first phase of every deletion is a
 * rename into it (atomic, same file system, so a training job's resume never sees half a
 * checkpoint), the second phase deletes it from there. An eviction with id {@code <id>} first
 * writes a manifest {@code <id>.manifest.json} naming its members (written aside, forced to disk,
 * renamed into place), then renames member {@code i} to {@code <id>.<i>}, so a restart can tell
 * which eviction a file belongs to and roll an interrupted multi-file move forward
 * ({@link #recover()}).
 *
 * <p>Every operation after the trash is opened is relative to directory descriptors opened with
 * {@code O_NOFOLLOW} ({@link SecureDirectoryStream}: {@code renameat}, {@code unlinkat},
 * {@code openat}); no path string is resolved again. A symbolic link inside the trash is removed
 * itself, never what it points at. An open trash holds an exclusive lock on {@code <trash>/.lock},
 * so two enforcement passes never work on one root at the same time.
 *
 * <p>A root may be writable by other users (a shared scratch directory), so nothing they can write
 * there may direct a deletion: the trash is created {@code 0700} and refused
 * ({@link UntrustedTrashException}: nothing moved, rolled forward or purged) when it is a link, not
 * owned by the agent's user, or writable by group or others; and a manifest is used only when it
 * carries a valid HMAC under the state directory's {@link ManifestKey} and its names stay inside
 * their directory ({@link TrashManifest}).
 */
public final class TrashBin implements Closeable {
    /** The trash directory's name inside each root (the catalog never descends into it). */
    public static final String DIR_NAME = Cataloger.TRASH_DIR;
    static final String LOCK_NAME = ".lock";
    static final String MANIFEST_SUFFIX = ".manifest.json";
    /** A manifest being written; never read, purged like any leftover. */
    static final String PARTIAL_SUFFIX = ".manifest.partial";

    private static final AtomicLong SEQUENCE = new AtomicLong();
    private static final Set<OpenOption> CREATE_NEW = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);
    private static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

    private final RootDirectory root;
    private final boolean ownsRoot;
    /** Signs and verifies manifests; null for a trash used only as a staging area (no manifests). */
    private final ManifestKey key;
    /** Entries {@link #purge()} leaves: members of a pinned checkpoint that could not be put back. */
    private final Set<Path> kept = new java.util.HashSet<>();
    private final SecureDirectoryStream<Path> trash;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private TrashBin(RootDirectory root, boolean ownsRoot, ManifestKey key, SecureDirectoryStream<Path> trash,
                     FileChannel lockChannel, FileLock lock) {
        this.root = root;
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
        Path name = root.name(DIR_NAME);
        Path shown = root.path().resolve(DIR_NAME);
        SecureDirectoryStream<Path> trash;
        try {
            trash = openTrusted(root, name, shown);
        } catch (NoSuchFileException absent) {
            try {
                Files.createDirectory(shown, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException raced) {
                // Someone created it first; the open below checks whose it is.
            }
            trash = openTrusted(root, name, shown);
        }
        FileChannel lockChannel = null;
        try {
            lockChannel = (FileChannel) trash.newByteChannel(root.name(LOCK_NAME),
                    Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                throw new EnforcementBusyException(shown.resolve(LOCK_NAME));
            }
            return new TrashBin(root, ownsRoot, key, trash, lockChannel, lock);
        } catch (IOException | RuntimeException e) {
            if (lockChannel != null) {
                lockChannel.close();
            }
            trash.close();
            throw e;
        }
    }

    /**
     * Opens the trash without following a link and checks, on the opened descriptor (so a swap after
     * the check changes nothing), that only the agent's user can have written it.
     */
    private static SecureDirectoryStream<Path> openTrusted(RootDirectory root, Path name, Path shown) throws IOException {
        SecureDirectoryStream<Path> trash;
        try {
            trash = RootDirectory.openChild(root.stream(), name, shown);
        } catch (UnsafePathException link) {
            throw new UntrustedTrashException(shown, "a symbolic link");
        }
        try {
            PosixFileAttributes a = trash.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
            String why = AgentOwned.whyNot(shown.getFileSystem(), a, false);
            if (why != null) {
                throw new UntrustedTrashException(shown, why);
            }
            return trash;
        } catch (IOException | RuntimeException e) {
            trash.close();
            throw e;
        }
    }

    /** {@code <root>/.ckpt-warden-trash}. */
    public Path path() {
        return root.path().resolve(DIR_NAME);
    }

    /** A fresh eviction id: time, process and a counter, so that concurrent processes never collide. */
    static String newId(Instant now) {
        return now.toEpochMilli() + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    }

    /** The trash name of member {@code index} of eviction {@code id}. */
    private Path memberName(String id, int index) {
        return root.name(id + "." + index);
    }

    /**
     * Moves a checkpoint's members from {@code from} into the trash: the manifest first (forced to
     * disk, and the trash directory with it), then one rename per member; see
     * {@link #writeManifests} and {@link #moveMembers}.
     *
     * @return the names moved; empty when every member was already gone (the manifest is then removed)
     */
    List<String> moveIn(SecureDirectoryStream<Path> from, TrashManifest manifest, Consumer<String> renamed)
            throws IOException {
        Path file = writeManifests(List.of(manifest));
        List<String> moved;
        try {
            moved = moveMembers(from, manifest, renamed);
        } catch (IOException | RuntimeException e) {
            if (membersInTrash(manifest) == 0) {
                deleteIfPresent(file);
            }
            throw e;
        }
        if (moved.isEmpty()) {
            deleteIfPresent(file);
        }
        return moved;
    }

    /**
     * Writes the manifests of a batch of evictions as one file, one manifest per line (a single
     * eviction's file is the same format with one line), forced to disk with the trash directory
     * before it is used: every member renamed afterwards is named by a durable manifest, and a batch
     * of evictions pays for two {@code fsync}s instead of two per eviction.
     *
     * @return the manifest file's name in the trash, for {@link #settle(Path, List)}
     */
    Path writeManifests(List<TrashManifest> manifests) throws IOException {
        if (manifests.isEmpty()) {
            throw new IllegalArgumentException("no manifests to write");
        }
        if (key == null) {
            throw new IllegalStateException("this trash was opened without a manifest key");
        }
        String fileId = manifests.size() == 1 ? manifests.get(0).id() : newId(manifests.get(0).started()) + "-batch";
        Path partial = root.name(fileId + PARTIAL_SUFFIX);
        Path file = root.name(fileId + MANIFEST_SUFFIX);
        try (SeekableByteChannel ch = trash.newByteChannel(partial, CREATE_NEW)) {
            for (TrashManifest m : manifests) {
                ByteBuffer b = ByteBuffer.wrap(m.toBytes(key));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            force(ch);
        }
        trash.move(partial, trash, file);
        syncDirectory(trash);
        return file;
    }

    /**
     * Renames a checkpoint's members from {@code from} into the trash, one by one, under a manifest
     * already written by {@link #writeManifests}. A member already gone is skipped. When a rename
     * fails, the members moved so far are renamed back (never over a file that appeared in their
     * place) and the exception is rethrown; what cannot be put back stays in the trash with its
     * manifest, for {@link #recover()} to finish.
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

    private int membersInTrash(TrashManifest manifest) throws IOException {
        int n = 0;
        for (int i = 0; i < manifest.members().size(); i++) {
            if (exists(trash, memberName(manifest.id(), i))) {
                n++;
            }
        }
        return n;
    }

    /** Renames moved members back where they were, last first; returns those that could not go back. */
    private List<String> rollBack(SecureDirectoryStream<Path> from, TrashManifest manifest, List<Integer> moved) {
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
     * Ends an eviction that has been recorded: forgets its manifest first (so a restart will not
     * record it again), then deletes its members from the trash.
     *
     * @return bytes of regular files deleted
     */
    long settle(TrashManifest manifest) throws IOException {
        deleteIfPresent(root.name(manifest.id() + MANIFEST_SUFFIX));
        return deleteMembers(manifest);
    }

    /**
     * Ends a batch whose evictions have all been recorded (or found whole in place): forgets the
     * batch's manifest file first, then deletes the members of {@code moved} from the trash.
     *
     * @return bytes of regular files deleted, per manifest of {@code moved}, in its order
     */
    long[] settle(Path manifestFile, List<TrashManifest> moved) throws IOException {
        deleteIfPresent(manifestFile);
        long[] freed = new long[moved.size()];
        IOException[] failed = new IOException[moved.size()];
        // Freeing a file's blocks is most of an unlink's cost and happens outside the directory's lock:
        // two threads free a large batch about a third faster than one. Small batches stay on this thread.
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, moved.size());
        (moved.size() >= 64 ? range.parallel() : range).forEach(k -> {
            try {
                freed[k] = deleteMembers(moved.get(k));
            } catch (IOException e) {
                freed[k] = -1;
                failed[k] = e;
            }
        });
        for (IOException e : failed) {
            if (e != null) {
                throw new PartialSettleException(freed, e);
            }
        }
        return freed;
    }

    /** Some members of a settled batch could not be deleted now; {@code freed} is -1 for those evictions. */
    static final class PartialSettleException extends IOException {
        private final long[] freed;

        PartialSettleException(long[] freed, IOException cause) {
            super(cause.getMessage(), cause);
            this.freed = freed;
        }

        long[] freed() {
            return freed.clone();
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

    /** What {@link #purge()} removed. */
    public record Purge(int entries, long bytes, List<String> problems) {
        public Purge {
            problems = List.copyOf(problems);
        }
    }

    /**
     * Deletes everything in the trash (manifests first, so that a crash in the middle can never make
     * a restart roll anything forward), except the lock. Failures are collected, not thrown.
     */
    public Purge purge() throws IOException {
        List<Path> names = RootDirectory.names(trash, root.name("."));
        List<Path> ordered = new ArrayList<>();
        names.stream().filter(n -> n.toString().endsWith(MANIFEST_SUFFIX)).forEach(ordered::add);
        names.stream().filter(n -> !n.toString().endsWith(MANIFEST_SUFFIX) && !n.toString().equals(LOCK_NAME)
                        && !kept.contains(n))
                .forEach(ordered::add);
        int entries = 0;
        long bytes = 0;
        List<String> problems = new ArrayList<>();
        for (Path n : ordered) {
            try {
                bytes += deleteEntry(trash, n);
                entries++;
            } catch (IOException e) {
                problems.add(path().resolve(n) + ": cannot delete: " + describe(e));
            }
        }
        return new Purge(entries, bytes, problems);
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

    /**
     * An interrupted eviction found in the trash at a restart.
     *
     * @param removed true when the checkpoint is now wholly out of its directory (in the trash or gone);
     *                false when nothing had been moved yet and it is whole in place
     * @param pinned  true when the checkpoint is pinned now: whatever had reached the trash was put back
     * @param detail  what recovery did, in a few words
     */
    public record Recovered(String id, String path, String root, String run, String reason, String action, long bytes,
                            boolean removed, boolean pinned, String detail) {
    }

    /**
     * Finishes every interrupted eviction from its manifest, then {@link #purge() purges}. For a
     * multi-file checkpoint of which some members reached the trash, the members still in place are
     * moved after them if each is still exactly what the manifest recorded (anything else is new
     * and stays); an eviction that moved nothing leaves the checkpoint whole where it is.
     */
    public List<Recovered> recover() throws IOException {
        List<Recovered> out = finishInterrupted(path -> false);
        purge();
        return out;
    }

    /**
     * The first half of {@link #recover()}: rolls interrupted moves forward, deletes nothing. A
     * manifest that is not authenticated or whose names leave their directory is refused: nothing is
     * moved for it. A checkpoint {@code pinned} now is never rolled forward: the members that had
     * reached the trash are put back (those whose place is taken stay in the trash and are not purged).
     */
    List<Recovered> finishInterrupted(Predicate<String> pinned) throws IOException {
        List<Recovered> out = new ArrayList<>();
        for (Path n : RootDirectory.names(trash, root.name("."))) {
            String file = n.toString();
            if (!file.endsWith(MANIFEST_SUFFIX)) {
                continue;
            }
            String id = file.substring(0, file.length() - MANIFEST_SUFFIX.length());
            List<TrashManifest> batch;
            try {
                if (key == null) {
                    throw new IOException("no manifest key to verify it with");
                }
                batch = TrashManifest.parseAll(read(n), key);
            } catch (IOException unreadable) {
                // Ours are complete before any member moves (written aside, renamed into place), and
                // signed: anything else was not written by this agent, and moves nothing.
                out.add(new Recovered(id, null, null, null, null, null, 0, false, false,
                        "unreadable manifest " + path().resolve(n) + " (" + unreadable.getMessage()
                                + "): refused, nothing moved for it"));
                continue;
            }
            for (TrashManifest m : batch) {
                out.add(pinned.test(m.path()) ? putBack(m) : finish(m));
            }
        }
        return out;
    }

    private Recovered finish(TrashManifest m) throws IOException {
        List<Integer> notInTrash = new ArrayList<>();
        for (int i = 0; i < m.members().size(); i++) {
            if (!exists(trash, memberName(m.id(), i))) {
                notInTrash.add(i);
            }
        }
        Path parent = root.path().getFileSystem().getPath(m.parent());
        if (notInTrash.size() == m.members().size()) {
            return inPlaceOnly(m, parent);
        }
        if (notInTrash.isEmpty()) {
            return recovered(m, true, "finished after restart");
        }
        int movedNow = 0;
        List<String> left = new ArrayList<>();
        try (SecureDirectoryStream<Path> from = root.openDirectory(parent)) {
            for (int i : notInTrash) {
                EntrySnapshot member = m.members().get(i);
                Path n = root.name(member.name());
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
                    from.move(n, trash, memberName(m.id(), i));
                    movedNow++;
                } catch (NoSuchFileException gone) {
                    // gone meanwhile: nothing left to move
                }
            }
        } catch (NoSuchFileException parentGone) {
            return recovered(m, true, "finished after restart (its directory is gone)");
        } catch (UnsafePathException | NotDirectoryException unsafe) {
            return recovered(m, true, "finished after restart, but " + unsafe.getMessage()
                    + ": remaining members not moved");
        }
        String detail = "finished after restart: moved " + movedNow + " remaining member(s)";
        if (!left.isEmpty()) {
            detail += "; left in place because they changed: " + String.join(", ", left);
        }
        return recovered(m, true, detail);
    }

    /** Nothing reached the trash: the checkpoint is whole in place, or was gone before the move. */
    private Recovered inPlaceOnly(TrashManifest m, Path parent) throws IOException {
        try (SecureDirectoryStream<Path> from = root.openDirectory(parent)) {
            for (EntrySnapshot member : m.members()) {
                if (exists(from, root.name(member.name()))) {
                    return recovered(m, false, "interrupted before the first rename; checkpoint left in place");
                }
            }
        } catch (NoSuchFileException parentGone) {
            return recovered(m, true, "already gone");
        } catch (UnsafePathException | NotDirectoryException unsafe) {
            return recovered(m, false, "interrupted before the first rename; " + unsafe.getMessage());
        }
        return recovered(m, true, "already gone");
    }

    private static Recovered recovered(TrashManifest m, boolean removed, String detail) {
        return new Recovered(m.id(), m.path(), m.root(), m.run(), m.reason(), m.action(), m.bytes(), removed, false,
                detail);
    }

    /** A checkpoint pinned since its eviction began: renames what reached the trash back into place. */
    private Recovered putBack(TrashManifest m) throws IOException {
        List<Integer> inTrash = new ArrayList<>();
        for (int i = 0; i < m.members().size(); i++) {
            if (exists(trash, memberName(m.id(), i))) {
                inTrash.add(i);
            }
        }
        List<String> stuck;
        try (SecureDirectoryStream<Path> from = root.openDirectory(root.path().getFileSystem().getPath(m.parent()))) {
            stuck = rollBack(from, m, inTrash);
        } catch (NoSuchFileException | UnsafePathException | NotDirectoryException noPlace) {
            stuck = new ArrayList<>();
            for (int i : inTrash) {
                stuck.add(m.members().get(i).name());
            }
        }
        String detail = "pinned since the eviction began: put back " + (inTrash.size() - stuck.size()) + " member(s)";
        if (!stuck.isEmpty()) {
            for (int i : inTrash) {
                if (stuck.contains(m.members().get(i).name())) {
                    kept.add(memberName(m.id(), i));
                }
            }
            detail += "; kept in " + path() + " because their place is taken: " + String.join(", ", stuck);
        }
        return new Recovered(m.id(), m.path(), m.root(), m.run(), m.reason(), m.action(), m.bytes(), false, true,
                detail);
    }

    private byte[] read(Path name) throws IOException {
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

    static String describe(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
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
