package dev.ckptwarden.enforce;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands out eviction ids (audit lines, trash manifests, trash entry names), {@code <ms>-<pid>-<n>}:
 * time, process, and a number from this source's own sequence, which starts at a random multiple of
 * 2^32, so that ids never collide between processes, nor between two sources of one process (two
 * agents in one JVM, or enforcers made one after another on a clock that stands still in a test). One
 * per {@link Enforcer}: no state is shared between agents in one JVM.
 */
final class EvictionIds {
    private final AtomicLong sequence = new AtomicLong((long) new SecureRandom().nextInt(1 << 30) << 32);
    private final String pid = "-" + ProcessHandle.current().pid() + "-";

    String next(Instant now) {
        return now.toEpochMilli() + pid + sequence.incrementAndGet();
    }
}
