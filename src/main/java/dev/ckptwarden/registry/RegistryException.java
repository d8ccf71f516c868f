package dev.ckptwarden.registry;

import java.nio.file.Path;
import java.util.Objects;

/** The registry database cannot be opened or used; the message names the path and reads as one line. */
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

    /** The state directory or database file the problem is about. */
    public Path path() {
        return path;
    }
}
