package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A root's trash directory that someone other than the agent could have written (a symbolic link,
 * another user's directory, a group/other-writable one): refused, so nothing in it is moved, rolled
 * forward or purged.
 */
public final class UntrustedTrashException extends IOException {
    public UntrustedTrashException(Path trash, String why) {
        super(trash + ": refused: " + why + "; nothing in it is moved or deleted (remove it once you know who made it)");
    }
}
