package dev.ckptwarden.cli;

/** The contract's exit codes. */
final class ExitCode {
    static final int OK = 0;
    static final int NOT_FOUND = 1;
    static final int USAGE = 2;
    static final int RUNTIME = 3;

    private ExitCode() {
    }
}
