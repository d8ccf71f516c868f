package dev.ckptwarden.errors;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.List;

/**
 * A failed operation as the one line that scan problems, logs and error messages print: every layer words an
 * exception the same way. This package depends on nothing of the agent, so that every package may use it.
 */
public final class ErrorLine {

    /** How many messages of a cause chain {@link #causes} keeps: the outer wrapper, the transport, its cause. */
    private static final int MOST_CAUSES = 4;

    private ErrorLine() {
    }

    /**
     * What went wrong, without the file: the reason a {@link FileSystemException} carries, else words for the
     * JDK's exceptions that carry none (it throws {@code NoSuchFileException(file)} for ENOENT, whose message is
     * only the file name, which the caller already prints), else the message, else the exception's type.
     */
    public static String reason(Throwable e) {
        if (e instanceof FileSystemException fse) {
            if (fse.getReason() != null) {
                return fse.getReason();
            }
            String words = wordsFor(fse);
            if (words != null) {
                return words;
            }
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /**
     * "file: reason" for an exception that names a file, else {@link #reason}. A file exception without a reason
     * or known words gives its type, since its message is only the file again.
     */
    public static String withFile(Throwable e) {
        if (e instanceof FileSystemException fse && fse.getFile() != null) {
            String why = fse.getReason() != null ? fse.getReason() : wordsFor(fse);
            return fse.getFile() + ": " + (why != null ? why : e.getClass().getSimpleName());
        }
        return reason(e);
    }

    /**
     * The messages along a cause chain, outermost first, joined by ": ": remote access (Commons VFS, the AWS SDK)
     * wraps the transport's reason ("Auth fail", "Connection refused") in its own. Each message gives its first
     * line; a message already contained in an earlier one is left out, and so is a blank one.
     */
    public static String causes(Throwable e) {
        List<String> parts = new ArrayList<>();
        for (Throwable t = e; t != null && parts.size() < MOST_CAUSES; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage();
            if (m == null || m.isBlank()) {
                continue;
            }
            String line = m.strip().lines().findFirst().orElse("").strip();
            if (parts.stream().noneMatch(p -> p.contains(line))) {
                parts.add(line);
            }
        }
        return parts.isEmpty() ? e.getClass().getSimpleName() : String.join(": ", parts);
    }

    private static String wordsFor(FileSystemException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "does not exist";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        return null;
    }
}
