package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The file system of a root offers no {@link java.nio.file.SecureDirectoryStream} (openat/unlinkat
 * semantics), so deletion there could be redirected through a swapped directory: nothing is deleted.
 */
public final class SecureDeletionUnavailableException extends IOException {
    private final transient Path root;

    public SecureDeletionUnavailableException(Path root) {
        super(root + ": the file system (" + root.getFileSystem().provider().getScheme()
                + ") offers no secure directory access (openat/unlinkat); refusing to delete anything there");
        this.root = root;
    }

    public Path root() {
        return root;
    }
}
