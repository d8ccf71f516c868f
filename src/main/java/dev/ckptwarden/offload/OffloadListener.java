package dev.ckptwarden.offload;

import java.time.Duration;

/**
 * What the offloader tells about each checkpoint copy as it happens (the agent's metrics listen).
 * Called from the copying thread; implementations must be quick and must not throw.
 */
public interface OffloadListener {
    OffloadListener NONE = new OffloadListener() {
    };

    /** A copy of one checkpoint of {@code root} starts. */
    default void started(String root) {
    }

    /** The copy is verified (or the target already held it): {@code bytes} of checkpoint data, in {@code took}. */
    default void verified(String root, long bytes, Duration took) {
    }

    /** The copy failed; nothing local was touched. */
    default void failed(String root, OffloadException.Kind kind, Duration took) {
    }
}
