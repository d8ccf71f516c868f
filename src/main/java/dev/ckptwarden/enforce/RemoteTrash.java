package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What the SFTP and S3 backends of the deletion protocol share: they look at a checkpoint through
 * {@link RemoteEntries}, and evict one checkpoint per batch, because each remote eviction is several round
 * trips, so a lost lease or a stop covers at most the eviction in progress.
 */
abstract class RemoteTrash implements TrashBackend {
    final RemoteEntries entries;

    RemoteTrash(RemoteEntries entries) {
        this.entries = entries;
    }

    @Override
    public int batchSize() {
        return 1;
    }

    @Override
    public Path shown() {
        return entries.rootPath();
    }

    @Override
    public String trashName() {
        return entries.trashName();
    }

    @Override
    public Look look(Checkpoint c) throws IOException {
        return entries.look(c);
    }
}
