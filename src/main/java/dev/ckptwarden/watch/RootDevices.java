package dev.ckptwarden.watch;

import dev.ckptwarden.config.RootConfig;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per local root (name and directory), its device when a full pass last found checkpoints in it: an empty
 * root still on that device was emptied by hand, one that is not may be an unmounted file system
 * ({@link RootDevice}). Kept apart from the reconciler's per-root memory, which another process's registry
 * write replaces. In memory only: after a start the guard holds until the root holds checkpoints again.
 */
final class RootDevices {
    private final Map<String, RootDevice> seenOn = new ConcurrentHashMap<>();

    /** The device of a walk: read before and after it, unknown (null) when a mount or unmount came between. */
    static RootDevice during(RootDevice before, RootDevice after) {
        return before != null && before.equals(after) ? after : null;
    }

    /** Why an empty root on {@code device} now may be an unmounted file system; null when its emptiness is to be trusted. */
    String distrust(RootConfig root, Path rootDir, RootDevice device) {
        return RootDevice.distrust(seenOn.get(key(root, rootDir)), device);
    }

    /** After a full pass over the root on {@code device} (null: unknown): remembered when it found checkpoints. */
    void afterPass(RootConfig root, Path rootDir, boolean sawCheckpoints, RootDevice device) {
        if (!sawCheckpoints) {
            return;
        }
        if (device != null) {
            seenOn.put(key(root, rootDir), device);
        } else {
            seenOn.remove(key(root, rootDir));
        }
    }

    private static String key(RootConfig root, Path rootDir) {
        return root.name() + '\u0000' + rootDir;
    }
}
