package dev.ckptwarden.enforce;

import dev.ckptwarden.offload.Staging;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A root's trash as the restore's staging area: same file system, never catalogued, emptied by the
 * next start, and locked against enforcement passes while a restore runs.
 */
public final class TrashStaging implements Staging {
    private final TrashBin trash;

    private TrashStaging(TrashBin trash) {
        this.trash = trash;
    }

    /**
     * @throws EnforcementBusyException when an enforcement pass holds the root
     */
    public static Staging open(Path rootDir) throws IOException {
        return new TrashStaging(TrashBin.open(rootDir, null));
    }

    @Override
    public Path directory() {
        return trash.path();
    }

    @Override
    public void discard(Path entry) throws IOException {
        if (!trash.path().equals(entry.getParent())) {
            throw new IllegalArgumentException(entry + " is not in " + trash.path());
        }
        trash.deleteFromTrash(entry.getFileName().toString());
    }

    @Override
    public void close() throws IOException {
        trash.close();
    }
}
