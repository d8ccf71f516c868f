package dev.ckptwarden.offload;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** A local checkpoint as the offloader reads it: its entries, and each file's bytes. */
public interface OffloadSource {

    /**
     * Every file and directory of the checkpoint, each directory before what it holds.
     *
     * @throws UnsafeSourceException when an entry is a symbolic link or a special file (never followed, never copied)
     */
    List<SourceEntry> entries() throws IOException;

    /** Opens a file entry for reading, never following a link. */
    InputStream open(String path) throws IOException;

    /** Thrown when a checkpoint holds something that cannot be offloaded faithfully. */
    final class UnsafeSourceException extends IOException {
        public UnsafeSourceException(String message) {
            super(message);
        }
    }
}
