package dev.ckptwarden.enforce;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What a purge says of a trash entry it cannot delete: which file inside it, and why. */
class TrashPurgeProblemTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private Path immutable;

    @AfterEach
    void letGo() throws Exception {
        if (immutable != null) {
            chattr("-i", immutable);
        }
    }

    @Test
    void anEntryWhoseFileCannotBeUnlinkedNamesThatFileAndWhy() throws Exception {
        Path entry;
        TrashBackend.Purge purge;
        try (Site site = new Site(rootDir, stateDir)) {
            entry = Files.createDirectories(site.root.resolve(TrashBin.DIR_NAME).resolve("1-1-1"));
            Path file = Files.writeString(entry.resolve("model.safetensors"), "bytes");
            // Immutable: unlink fails with EPERM even for root. The JDK's exception names only "model.safetensors",
            // relative to the directory descriptor: the problem must say it, or a user cannot tell which file stays.
            assumeTrue(chattr("+i", file), "chattr +i (root, on a file system with attributes) is needed");
            immutable = file;

            try (TrashBin bin = TrashBin.open(site.root, ManifestKey.open(stateDir))) {
                purge = bin.purge();
            }
        }

        assertThat(purge.problems()).containsExactly(entry + ": cannot delete: model.safetensors: Operation not permitted");
    }

    private static boolean chattr(String flag, Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }
}
