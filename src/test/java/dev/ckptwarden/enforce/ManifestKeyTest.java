package dev.ckptwarden.enforce;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The trash-manifest key survives an agent killed at any instant of its first start. */
class ManifestKeyTest {
    @TempDir
    Path state;

    @Test
    void anEmptyKeyLeftByAnAgentKilledWhileCreatingItIsReplaced() throws IOException {
        // What a kill -9 between creating the file and writing its bytes left behind (found by EnforcerCrashTest
        // in CI): no manifest can have been signed with a key that was never written, so a new one is safe.
        Path file = state.resolve(ManifestKey.FILE_NAME);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));

        ManifestKey key = ManifestKey.open(state);

        assertThat(Files.size(file)).isEqualTo(32);
        assertThat(ManifestKey.open(state).verifies("m", key.sign("m"))).as("the replacement is the key from now on").isTrue();
    }

    @Test
    void theKeyFileAppearsOnlyWholeAndNoTemporaryIsLeft() throws IOException {
        ManifestKey key = ManifestKey.open(state);
        try (Stream<Path> files = Files.list(state)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly(ManifestKey.FILE_NAME);
        }
        assertThat(Files.getAttribute(state.resolve(ManifestKey.FILE_NAME), "unix:mode")).isEqualTo(0100600);
        assertThat(ManifestKey.open(state).verifies("x", key.sign("x"))).isTrue();
    }

    @Test
    void aTemporaryLeftByAKilledStartIsCleanedAndTheKeyMade() throws IOException {
        Path stale = Files.write(state.resolve(ManifestKey.FILE_NAME + ".new-123"), new byte[7]);
        ManifestKey.open(state);
        assertThat(stale).doesNotExist();
        assertThat(Files.size(state.resolve(ManifestKey.FILE_NAME))).isEqualTo(32);
    }

    @Test
    void aShortKeyThatMayHaveSignedManifestsIsStillRefused() throws IOException {
        Path file = state.resolve(ManifestKey.FILE_NAME);
        Files.write(file, new byte[31]);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(() -> ManifestKey.open(state)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a manifest key (31 bytes");
    }
}
