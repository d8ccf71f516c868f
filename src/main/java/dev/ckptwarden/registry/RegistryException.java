package dev.ckptwarden.registry;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The registry database cannot be opened or used; the message names the path (or, for PostgreSQL, the
 * server and database, never the password) and reads as one line.
 */
public final class RegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path path;

    public RegistryException(Path path, String problem) {
        this(path, problem, null);
    }

    public RegistryException(Path path, String problem, Throwable cause) {
        super(path + ": " + Objects.requireNonNull(problem), cause);
        this.path = path;
    }

    /** A problem with a database server: {@code location} names it, e.g. {@code postgresql://db:5432/ckpt}. */
    public RegistryException(String location, String problem, Throwable cause) {
        super(location + ": " + Objects.requireNonNull(problem), cause);
        this.path = null;
    }

    /** The state directory or database file the problem is about; null for a database server. */
    public Path path() {
        return path;
    }
}
