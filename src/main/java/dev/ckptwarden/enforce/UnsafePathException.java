package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.file.Path;

/** A path below a root that deletion must not go through: a symbolic link, or a name that leaves its directory. */
final class UnsafePathException extends IOException {
    private final transient Path where;
    private final String why;

    UnsafePathException(Path where, String why) {
        super(where + ": " + why);
        this.where = where;
        this.why = why;
    }

    /** The offending path (relative to the root when found by a walk from it). */
    Path where() {
        return where;
    }

    /** What is wrong with it, in a few words. */
    String why() {
        return why;
    }
}
