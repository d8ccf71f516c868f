package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;

/**
 * Whether a file or directory the agent trusts (its trash, its state directory, its key) can only
 * have been written by the agent's own user: owned by the agent's uid, and writable by nobody else.
 * Anything another user can write must never direct a deletion or receive the agent's writes.
 */
public final class AgentOwned {
    private static final long UID = new com.sun.security.auth.module.UnixSystem().getUid();

    private AgentOwned() {
    }

    /** The agent's own uid. */
    public static long uid() {
        return UID;
    }

    /**
     * Why {@code a} (attributes read without following a link) is not the agent's alone, or null when it is.
     *
     * @param privateToo also refuse read access for group and others (a secret key)
     */
    public static String whyNot(FileSystem fs, PosixFileAttributes a, boolean privateToo) throws IOException {
        if (a.isSymbolicLink()) {
            return "a symbolic link";
        }
        UserPrincipal self = fs.getUserPrincipalLookupService().lookupPrincipalByName(Long.toString(UID));
        if (!self.equals(a.owner())) {
            return "owned by " + a.owner().getName() + ", not by the agent's user (uid " + UID + ")";
        }
        Set<PosixFilePermission> p = a.permissions();
        if (p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE)) {
            return "writable by group or others (mode " + mode(p) + ")";
        }
        if (privateToo && (p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ))) {
            return "readable by group or others (mode " + mode(p) + ")";
        }
        return null;
    }

    private static String mode(Set<PosixFilePermission> p) {
        int m = 0;
        for (PosixFilePermission x : p) {
            m |= 1 << (8 - x.ordinal());
        }
        return String.format("%04o", m);
    }
}
