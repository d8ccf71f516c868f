package dev.ckptwarden.enforce;

import java.io.IOException;

/**
 * A move into the trash that stopped part way and could not be undone (S3 has no rename: its objects
 * are deleted one by one). The eviction's outcome is {@link Outcome.Failure#DELETE_CUT_SHORT} with
 * this exception's message as its detail.
 */
final class CutShortException extends IOException {

    CutShortException(String detail, Throwable cause) {
        super(detail, cause);
    }
}
