package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A trash or a manifest key that anyone but the agent's user could have written (or, for the key, read)
 * steers nothing: each permission bit alone is enough to refuse it, not only all of them together.
 */
class TrustedFilesTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private Site site;
    private Path trash;

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        trash = site.root.resolve(TrashBin.DIR_NAME);
    }

    @AfterEach
    void close() throws IOException {
        site.close();
    }

    /** A trash with the given mode holding a file the agent did not put there; recovery must leave it alone. */
    private void assertTrashWithModeIsRefused(int mode, String says) throws IOException {
        Files.createDirectory(trash);
        Path planted = Files.writeString(trash.resolve("123-1-1.0"), "not the agent's to purge");
        Files.setAttribute(trash, "unix:mode", mode);

        EnforcementReport r = site.enforcer().recover(site.rootConfig, site.root, site.clock.instant());

        assertThat(r.problems()).singleElement().asString().contains(trash.toString()).contains("refused").contains(says);
        assertThat(planted).hasContent("not the agent's to purge");
    }

    @Test
    void aTrashWritableByItsGroupAloneIsRefused() throws IOException {
        assertTrashWithModeIsRefused(0770, "writable by group or others (mode 0770)");
    }

    @Test
    void aTrashWritableByOthersAloneIsRefused() throws IOException {
        assertTrashWithModeIsRefused(0703, "writable by group or others (mode 0703)");
    }

    /** The agent's key with the given mode refuses every deletion, and the checkpoint stays. */
    private void assertKeyWithModeRefusesDeletion(int mode, String says) throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        ManifestKey.open(stateDir);
        Path key = stateDir.resolve(ManifestKey.FILE_NAME);
        Files.setAttribute(key, "unix:mode", mode);

        assertThatThrownBy(() -> ManifestKey.open(stateDir)).isInstanceOf(IOException.class)
                .hasMessageContaining(key.toString()).hasMessageContaining("refused").hasMessageContaining(says);
        assertThatThrownBy(() -> site.enforceOne(site.eviction(ckpt))).isInstanceOf(IOException.class)
                .hasMessageContaining(key.toString());
        assertThat(ckpt).exists();
        assertThat(site.registered(ckpt).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void aManifestKeyReadableByItsGroupIsRefused() throws IOException {
        assertKeyWithModeRefusesDeletion(0640, "readable by group or others (mode 0640)");
    }

    @Test
    void aManifestKeyReadableByOthersIsRefused() throws IOException {
        assertKeyWithModeRefusesDeletion(0604, "readable by group or others (mode 0604)");
    }

    @Test
    void aManifestKeyWritableByItsGroupIsRefused() throws IOException {
        assertKeyWithModeRefusesDeletion(0620, "writable by group or others (mode 0620)");
    }

    @Test
    void aManifestKeyReadableByTheAgentAloneIsUsed() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        ManifestKey.open(stateDir);
        Files.setAttribute(stateDir.resolve(ManifestKey.FILE_NAME), "unix:mode", 0400);

        site.enforceOne(site.eviction(ckpt));

        assertThat(ckpt).doesNotExist();
        assertThat(site.registered(ckpt).state()).isEqualTo(CheckpointState.DELETED);
    }
}
