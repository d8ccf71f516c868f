package dev.ckptwarden.enforce;

import java.io.IOException;

/**
 * A move into the trash that stopped part way and could not be undone (S3 has no rename: its objects
 * are deleted one by one). The eviction's outcome is {@code failed:<why>} with {@code detail}.
 */
final class CutShortException extends IOException {
    private final String why;

    CutShortException(String why, String detail, Throwable cause) {
        super(detail, cause);
        this.why = why;
    }

    String why() {
        return why;
    }
}
