package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The agent's {@code state_dir}: what is in it (audit log, manifest key, registry, agent lock)
 * decides deletions and records them, so nobody but the agent's user may be able to add, replace
 * or link anything there. Files in it are opened without following links; this checks the
 * directory itself.
 */
public final class StateDirectory {
    private StateDirectory() {
    }

    /**
     * Creates {@code dir} ({@code 0700}) when absent; refuses it when it is not the agent's user's or
     * is writable by group or others. The configured path itself may be a link (the administrator's).
     *
     * @throws IOException one line naming the directory and what is wrong with it
     */
    public static Path check(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class);
        String why = AgentOwned.whyNot(dir.getFileSystem(), a, false);
        if (why != null) {
            throw new IOException("state_dir " + dir + " refused: " + why + " (chmod go-w, or chown it to the agent's user)");
        }
        return dir;
    }
}
