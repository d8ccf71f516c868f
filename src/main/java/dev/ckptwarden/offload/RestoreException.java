package dev.ckptwarden.offload;

import java.io.IOException;

/**
 * A restore that did not happen, in one line naming the path (and the remote URI where one is
 * involved). Nothing was placed in the run directory.
 */
public final class RestoreException extends IOException {
    private final boolean nothingToRestore;

    /** @param nothingToRestore true when the path is not an offloaded checkpoint (the command exits 1) */
    public RestoreException(String message, boolean nothingToRestore, Throwable cause) {
        super(message, cause);
        this.nothingToRestore = nothingToRestore;
    }

    public boolean nothingToRestore() {
        return nothingToRestore;
    }
}
