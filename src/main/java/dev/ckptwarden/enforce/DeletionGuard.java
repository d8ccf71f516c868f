package dev.ckptwarden.enforce;

import java.io.IOException;

/**
 * Asked before each batch of evictions whether this process may still delete (cluster mode: the
 * lease in the shared registry is still held and its fencing token unchanged). A guard that says no
 * stops the batch before anything is written or touched.
 */
@FunctionalInterface
public interface DeletionGuard {
    /** A single agent: always allowed. */
    DeletionGuard ALWAYS = root -> {
    };

    /**
     * @param root the root about to be enforced
     * @throws IOException saying why this process may not delete now; nothing of the batch is touched
     */
    void check(String root) throws IOException;
}
