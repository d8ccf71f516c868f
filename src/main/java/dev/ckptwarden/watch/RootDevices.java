package dev.ckptwarden.watch;

import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.errors.ErrorLine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per local root (name and directory), its device when a full pass last found checkpoints in it: an empty
 * root still on that device was emptied by hand, one that is not may be an unmounted file system
 * ({@link RootDevice}). Kept apart from the reconciler's per-root memory, which another process's registry
 * write replaces.
 *
 * <p>Kept in a file of the state directory when one is given ({@link #keptIn}), so that a root emptied while
 * the agent was stopped is known for what it is at the next start; without one, in memory only (the guard
 * then holds after a start until the root holds checkpoints again). The file is this host's: device numbers
 * mean nothing on another machine, so it is never in a shared registry. Losing it, or a device number that
 * changed at a reboot, only makes an empty root distrusted, the safe side.
 */
final class RootDevices {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    /** The file's name in the state directory. */
    static final String FILE = "root-devices.properties";

    private final Map<String, RootDevice> seenOn = new ConcurrentHashMap<>();
    private final Path file;

    /** In memory only. */
    RootDevices() {
        this.file = null;
    }

    private RootDevices(Path file) {
        this.file = file;
    }

    /** Kept in {@value #FILE} under {@code stateDir}, starting from what that file holds (nothing when it is unreadable). */
    static RootDevices keptIn(Path stateDir) {
        RootDevices devices = new RootDevices(stateDir.resolve(FILE));
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(devices.file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (NoSuchFileException e) {
            return devices;
        } catch (IOException | IllegalArgumentException e) {
            log.warn("cannot read {} ({}); empty roots are not trusted until they are seen holding checkpoints",
                    devices.file, ErrorLine.reason(e));
            return devices;
        }
        for (String key : p.stringPropertyNames()) {
            String[] dev = p.getProperty(key).split(" ");
            try {
                if (dev.length == 2) {
                    devices.seenOn.put(key, new RootDevice(Long.parseLong(dev[0]), Long.parseLong(dev[1])));
                }
            } catch (NumberFormatException ignored) {
                // a line not written by us: that root is not trusted empty, as if never seen
            }
        }
        return devices;
    }

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
        RootDevice before = device != null ? seenOn.put(key(root, rootDir), device) : seenOn.remove(key(root, rootDir));
        if (file != null && !java.util.Objects.equals(before, device)) {
            save();
        }
    }

    /** Writes the whole map beside the file and renames it over: a reader sees the old file or the new one. */
    private synchronized void save() {
        Properties p = new Properties();
        seenOn.forEach((k, d) -> p.setProperty(k, d.device() + " " + d.parentDevice()));
        Path tmp = file.resolveSibling(FILE + ".tmp");
        try {
            try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                p.store(out, "ckpt-warden: the device each local root's checkpoints were last seen on (this host only)");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("cannot write {} ({}); after a restart an empty root is not trusted until seen holding checkpoints",
                    file, ErrorLine.reason(e)); // a temporary left behind is written over by the next save
        }
    }

    private static String key(RootConfig root, Path rootDir) {
        return root.name() + '\u0000' + rootDir;
    }
}
