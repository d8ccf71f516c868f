package dev.ckptwarden.enforce;

import dev.ckptwarden.offload.Staging;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A restore's staging area is the trash: discarding it deletes only inside the trash, never through links. */
class TrashStagingTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path outsideDir;

    @Test
    void discardDeletesTheStagedTreeButNotWhatItsLinksPointAt() throws IOException {
        Path root = rootDir.toRealPath();
        Path precious = Files.writeString(outsideDir.resolve("precious.ckpt"), "keep me");
        try (Staging area = TrashStaging.open(root)) {
            Path stage = Files.createDirectory(area.directory().resolve("restore-1"));
            Files.writeString(Files.createDirectories(stage.resolve("checkpoint-500")).resolve("model.safetensors"), "x");
            Files.createSymbolicLink(stage.resolve("link-out"), outsideDir);
            Files.createSymbolicLink(stage.resolve("file-link"), precious);

            area.discard(stage);

            assertThat(stage).doesNotExist();
        }
        assertThat(precious).hasContent("keep me");
    }

    @Test
    void discardRefusesAnythingOutsideTheTrash() throws IOException {
        Path root = rootDir.toRealPath();
        Path runFile = Files.writeString(Files.createDirectories(root.resolve("run")).resolve("epoch=1.ckpt"), "x");
        try (Staging area = TrashStaging.open(root)) {
            assertThatThrownBy(() -> area.discard(runFile)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> area.discard(area.directory().resolve(".lock")))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(runFile).exists();
    }
}
