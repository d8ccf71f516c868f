package dev.ckptwarden.catalog.integrity;

import java.util.List;

/**
 * Result of probing one file: its content type, length, integrity findings and, for torch files
 * whose pickle could be read, what the checkpoint says about itself.
 *
 * @param type     what the bytes are
 * @param size     file length in bytes when probed
 * @param problems human-readable integrity findings, one line each; empty means intact
 * @param torch    metadata read from a torch zip's {@code data.pkl} or a legacy torch pickle; null otherwise
 */
public record Probe(ContentType type, long size, List<String> problems, TorchMetadata torch) {

    public Probe {
        problems = List.copyOf(problems);
    }

    public boolean intact() {
        return problems.isEmpty();
    }

    /**
     * True when the file is certainly not checkpoint content (a Git LFS pointer, an HTML error page,
     * text or JSON). An empty file is not in this group: with a checkpoint's name it is a failed save.
     */
    public boolean notACheckpoint() {
        return notACheckpointReason() != null;
    }

    /** Why {@link #notACheckpoint()} holds, as one line for users; null when it does not. */
    public String notACheckpointReason() {
        return switch (type) {
            case LFS_POINTER -> "Git LFS pointer, content not fetched";
            case HTML -> "HTML page, not a checkpoint (a failed download?)";
            case JSON -> "JSON text, not a checkpoint";
            case TEXT -> "text file, not a checkpoint";
            default -> null;
        };
    }
}
