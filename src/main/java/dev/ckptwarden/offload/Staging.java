package dev.ckptwarden.offload;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a restore assembles a checkpoint before moving it into place: a directory on the root's own
 * file system (so the final move is a rename), which the catalog never reads and which the next start
 * empties, held exclusively while open (no enforcement pass runs on the root meanwhile).
 */
public interface Staging extends Closeable {

    /** The directory to create private sub-directories in. */
    Path directory();

    /**
     * Deletes {@code entry}, a direct child of {@link #directory()}, and everything in it, without
     * following links (restores never delete anywhere else).
     */
    void discard(Path entry) throws IOException;

    /** Opens the staging area of the root at {@code rootDir}. */
    @FunctionalInterface
    interface Opener {
        Staging open(Path rootDir) throws IOException;
    }
}
