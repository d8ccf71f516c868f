package dev.ckptwarden.watch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The device ({@code st_dev}) a local root's directory is on, and its parent directory's: what tells a root
 * emptied by hand ({@code rm -rf} of its last run: same device as when its checkpoints were seen) from a mount
 * point whose file system is not mounted (the bare directory underneath shows its parent's device).
 *
 * @param device       the root directory's device
 * @param parentDevice its parent directory's device (the root's own for {@code /})
 */
record RootDevice(long device, long parentDevice) {
    /** The devices of {@code rootDir} (a configured root, links resolved) and its parent; null when they cannot be read. */
    static RootDevice of(Path rootDir) {
        try {
            Path real = rootDir.toRealPath();
            long dev = deviceOf(real);
            Path parent = real.getParent();
            return new RootDevice(dev, parent == null ? dev : deviceOf(parent));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return null; // no "unix" attribute view, or the root went away meanwhile: not known
        }
    }

    private static long deviceOf(Path p) throws IOException {
        return ((Number) Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS)).longValue();
    }

    /** Whether another file system is mounted at the root (its device is not its parent's). */
    boolean mountPoint() {
        return device != parentDevice;
    }

    /**
     * Why an empty root must not be taken at its word, or null when it may: its device is the one it was on
     * when its checkpoints were last seen.
     *
     * @param seen the root's devices when a pass last found checkpoints in it (null: not since this agent started)
     * @param now  the root's devices now (null: cannot be read)
     */
    static String distrust(RootDevice seen, RootDevice now) {
        if (now == null) {
            return "its device cannot be read (file system not mounted?)";
        }
        if (seen == null) {
            return "it was not seen holding checkpoints since the agent started (file system not mounted?)";
        }
        if (now.device == seen.device) {
            return null;
        }
        if (seen.mountPoint() && !now.mountPoint()) {
            return "it shows its parent's device, not the one its checkpoints were on (file system not mounted?)";
        }
        return "it is on another device than when its checkpoints were seen (another file system mounted?)";
    }
}
