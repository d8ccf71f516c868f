package dev.ckptwarden.enforce;

import java.io.IOException;

/** Some members of a purged batch could not be deleted now; {@code freed} is -1 for those evictions. */
final class PartialPurgeException extends IOException {
    private final long[] freed;

    PartialPurgeException(long[] freed, IOException cause) {
        super(cause.getMessage(), cause);
        this.freed = freed.clone();
    }

    long[] freed() {
        return freed.clone();
    }
}
