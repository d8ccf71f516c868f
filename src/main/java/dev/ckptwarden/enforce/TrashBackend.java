package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * What one kind of root supplies to the deletion protocol ({@link DeletionProtocol}, {@link TrashRecovery}):
 * a fresh look at a checkpoint's entries, a durable place for the signed manifests, the move into the
 * root's trash, and the purge from it; and for an eviction a crash interrupted, rolling it forward or
 * putting it back. Batching, the guard and stop checks, the audit lines, signing and verifying manifests
 * and the registry are shared code and not a backend's business.
 *
 * <p>Implementations, each the one class that removes checkpoint files of its kind of root:
 * {@link LocalTrash} (through {@link TrashBin}, {@code SecureDirectoryStream}), {@link SftpTrash} and
 * {@link S3Trash}. Nothing else deletes checkpoint files.
 */
interface TrashBackend extends Closeable {

    /**
     * How many evictions share one guard check, one forced write of audit lines and one manifest file.
     * A local batch is cheap per eviction; a remote eviction is several round trips, so remote backends
     * answer 1 and a lease lost or a stop asked mid-pass covers no more than the eviction in progress.
     */
    int batchSize();

    /**
     * Whether a batch's {@link #purge} may run on another thread while the next batch looks and moves. A local
     * trash works through directory descriptors and may; a remote one shares one connection (an SFTP channel,
     * a VFS file system), which is not safe to use from two threads, and purges on the protocol's thread.
     */
    default boolean purgesAside() {
        return false;
    }

    /** The root as reports show it. */
    Path shown();

    /** The root's trash, for messages. */
    String trashName();

    /**
     * A fresh look at the checkpoint's entries, never following a symbolic link.
     *
     * @throws UnsafePathException when an entry lies outside the root, is the root or lies in its trash
     */
    Look look(Checkpoint c) throws IOException;

    /** The batch whose looks are done with has ended: anything the looks hold open can be closed. */
    default void endBatch() {
    }

    /**
     * Stores a batch's signed manifest lines in the trash, durably, before anything of the batch moves.
     *
     * @return the stored manifest's name, for {@link #purge}
     */
    String storeManifest(String fileId, List<Signed> lines) throws IOException;

    /**
     * A last look (unchanged since {@code look}) and the move of the checkpoint into the trash under
     * {@code manifest}; {@code moved} is told each member as it goes.
     *
     * @throws CutShortException when the move stopped part way and what was moved cannot be put back
     */
    Moved moveToTrash(Look look, TrashManifest manifest, Consumer<String> moved) throws IOException;

    /**
     * Ends a batch whose evictions are all recorded: forgets the manifest first, then deletes what
     * {@code moved} put into the trash. May run on another thread than the batch's moves, while the
     * next batch goes on; {@code unlinkers} may share the deletions out.
     *
     * @return bytes freed per manifest of {@code moved}, -1 where it could not be deleted now
     */
    long[] purge(String manifestFile, List<TrashManifest> moved, Executor unlinkers) throws IOException;

    /** The names of the manifest files in the trash (none when there is no trash). */
    List<String> manifestFiles() throws IOException;

    /** The bytes of one manifest file, at most 16 MiB. */
    byte[] readManifest(String name) throws IOException;

    /** Finishes the interrupted eviction of a verified manifest: whatever of it is still in place and unchanged goes too. */
    Recovered rollForward(TrashManifest m) throws IOException;

    /** The checkpoint of a verified manifest is pinned now: what reached the trash goes back where it can. */
    Recovered putBack(TrashManifest m) throws IOException;

    /**
     * After every recovered eviction is recorded: deletes the verified manifest files and what their
     * evictions left in the trash, and whatever else the backend can prove is its own.
     */
    Purge purgeRecovered(List<String> manifestFiles, List<TrashManifest> recovered) throws IOException;

    /** One eviction's manifest and its line as signed with the state directory's key. */
    record Signed(TrashManifest manifest, byte[] line) {
    }

    /** The signed lines one after the other: a manifest file's bytes. */
    static byte[] joined(List<Signed> lines) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        lines.forEach(l -> out.writeBytes(l.line()));
        return out.toByteArray();
    }

    /** A checkpoint's entries as a backend found them. */
    interface Look {
        /** Why the entries may not be touched (outside root, symbolic link, changed since planned), or null. */
        Refusal refused();

        /** The entries as they are now; null for an entry that does not exist. */
        CheckpointEntries.Observed observed();
    }

    /** What a move did: the names moved (empty: all were already gone), or why it was refused at the last look. */
    record Moved(List<String> names, Refusal refused) {
        static Moved refused(Outcome.Skip why, String detail) {
            return new Moved(List.of(), new Refusal(why, detail));
        }
    }

    /** What {@link #purgeRecovered} removed, and what it could not. */
    record Purge(int entries, long bytes, List<String> problems) {
        public Purge {
            problems = List.copyOf(problems);
        }
    }

    /**
     * An interrupted eviction found in the trash at a start.
     *
     * @param removed true when the checkpoint is now wholly out of its place (in the trash or gone);
     *                false when nothing had been moved yet and it is whole in place
     * @param pinned  true when the checkpoint is pinned now: what had reached the trash was put back
     */
    record Recovered(TrashManifest manifest, boolean removed, boolean pinned, String detail) {
    }
}
