package dev.ckptwarden.enforce;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands out eviction ids (audit lines, trash manifests, trash entry names): time, process, a random
 * tag of this source and its counter, so that ids never collide between processes, nor between two
 * sources of one process (two agents in one JVM, or enforcers made one after another on a clock that
 * stands still in a test). One per {@link Enforcer}: no state is shared between agents in one JVM.
 */
final class EvictionIds {
    private final AtomicLong sequence = new AtomicLong();
    private final String prefix = "-" + ProcessHandle.current().pid() + "-"
            + Long.toString(new SecureRandom().nextLong() >>> 24, 36) + "-";

    String next(Instant now) {
        return now.toEpochMilli() + prefix + sequence.incrementAndGet();
    }
}
