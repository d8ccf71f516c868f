package dev.ckptwarden.sim;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Real faults of the file system for the simulation: a small tmpfs that can be filled to ENOSPC (the way
 * AuditFullDiskTest and SqliteFullDiskTest do it), and whether {@code chmod 000} binds this process at all.
 * Mounting needs root; without it the faults are reported as skipped, never faked.
 */
final class TinyFileSystem {
    private static final String FILLER = ".sim-filler";
    private static volatile String unavailable;
    private static volatile Boolean permissionsBind;

    private TinyFileSystem() {
    }

    /** Mounts an 8 MiB tmpfs on {@code dir}; null (and {@link #why()} says why) when mount is not allowed. */
    static Path mount(Path dir) throws IOException {
        if (unavailable != null) {
            return null;
        }
        try {
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", dir.toString())
                    .redirectErrorStream(true).start();
            String said = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0) {
                unavailable = "mount -t tmpfs failed (needs root): " + said;
                return null;
            }
            return dir.toRealPath();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** Why mounting is unavailable (null while it works). */
    static String why() {
        return unavailable;
    }

    /** Writes a filler file beside what is there until the file system is full. */
    static void fill(Path fs) {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(fs.resolve(FILLER))) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            // ENOSPC: what this wanted. Finish with small blocks so that nearly nothing is left.
        }
        byte[] small = new byte[512];
        try (OutputStream out = Files.newOutputStream(fs.resolve(FILLER + "-tail"))) {
            while (true) {
                out.write(small);
                out.flush();
            }
        } catch (IOException full) {
            // full to the last block
        }
    }

    static void free(Path fs) throws IOException {
        Files.deleteIfExists(fs.resolve(FILLER));
        Files.deleteIfExists(fs.resolve(FILLER + "-tail"));
    }

    static void unmount(Path fs) {
        try {
            new ProcessBuilder("umount", "-l", fs.toString()).inheritIO().start().waitFor();
        } catch (IOException e) {
            // left mounted under the test's temporary directory; nothing else depends on it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Whether {@code chmod 000} keeps this process out of a directory: not as root with CAP_DAC_OVERRIDE (the
     * usual container), yes as a user or as root without that capability ({@code setpriv --inh-caps=-dac_override}).
     */
    static boolean permissionsBind() {
        if (permissionsBind == null) {
            try {
                Path probe = Files.createTempDirectory("sim-perm");
                Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("---------"));
                boolean bind;
                try (var s = Files.list(probe)) {
                    bind = false;
                } catch (IOException denied) {
                    bind = true;
                } finally {
                    Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rwx------"));
                    Files.delete(probe);
                }
                permissionsBind = bind;
            } catch (IOException e) {
                permissionsBind = false;
            }
        }
        return permissionsBind;
    }
}
