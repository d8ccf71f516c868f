package dev.ckptwarden.cli;

/** An error the user should read as one line, with the exit code it maps to. */
final class CliError extends RuntimeException {
    private final int exitCode;

    CliError(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
