package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.file.Path;

/** Another enforcement pass (another process, or another thread of this one) holds the root's trash lock. */
public final class EnforcementBusyException extends IOException {

    public EnforcementBusyException(Path lockFile) {
        super(lockFile + ": another ckpt-warden enforcement pass holds this root's trash lock; try again when it ends");
    }
}
