package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the SFTP and S3 backends of the deletion protocol share: they look at a checkpoint, and list and
 * read the manifests in the root's trash, through {@link RemoteEntries}; and they evict one checkpoint per
 * batch, because each remote eviction is several round trips, so a lost lease or a stop covers at most the
 * eviction in progress.
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

    @Override
    public List<String> manifestFiles() throws IOException {
        FileObject trash = entries.trash(false);
        List<String> out = new ArrayList<>();
        if (trash != null) {
            trash.refresh();
            for (FileObject ch : trash.getChildren()) {
                String name = ch.getName().getBaseName();
                if (name.endsWith(TrashBin.MANIFEST_SUFFIX) && ch.getType() == FileType.FILE) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    @Override
    public byte[] readManifest(String name) throws IOException {
        FileObject f = RemoteEntries.child(entries.trash(false), name);
        if (f == null) {
            throw new IOException(trashName() + "/" + name + ": gone while being read");
        }
        return RemoteEntries.read(f);
    }
}
