package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a start does with an eviction a crash interrupted when finishing it could lose something: the
 * pin cannot be read, the place of a member to put back is taken, or the eviction was an offload.
 */
class RecoveryTrustTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private Site site;
    private Path root;
    private Path trash;

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        root = site.root;
        trash = root.resolve(TrashBin.DIR_NAME);
    }

    @AfterEach
    void close() throws IOException {
        site.close();
    }

    @Test
    void anInterruptedEvictionIsPutBackWholeWhenTheRegistryCannotSayWhetherItIsPinned() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        site.reconcile();
        Map<String, String> before = Trees.files(root.resolve("run"));
        Interrupted.eviction(site, site.registered(set.get(3)), "delete", 2);
        site.registry.close(); // unreadable from here on: a pin may exist that recovery cannot see

        site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(Trees.files(root.resolve("run"))).isEqualTo(before);
        assertThat(site.auditLines()).extracting(AuditRecord::phase).containsExactly(AuditRecord.END);
    }

    @Test
    void aMemberOfAPinnedCheckpointWhosePlaceWasTakenStaysInTheTrashAndIsNeverPurged() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        site.reconcile();
        Registered group = site.registered(set.get(3));
        TrashManifest m = Interrupted.eviction(site, group, "delete", 1);
        Path moved = root.resolve("run").resolve(m.members().get(0).name());
        byte[] original = Files.readAllBytes(trash.resolve(m.id() + ".0"));
        site.registry.pin(group.key(), true, "keep for the paper");
        Files.writeString(moved, "a new file a user wrote in its place");

        site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(moved).hasContent("a new file a user wrote in its place");
        assertTrashHoldsOnly(original);
        assertThat(set).allSatisfy(p -> assertThat(p).exists());
        assertThat(site.registered(set.get(3)).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void aMemberKeptInTheTrashBecauseItsPlaceWasTakenSurvivesTheNextStart() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        site.reconcile();
        Registered group = site.registered(set.get(3));
        TrashManifest m = Interrupted.eviction(site, group, "delete", 1);
        byte[] original = Files.readAllBytes(trash.resolve(m.id() + ".0"));
        site.registry.pin(group.key(), true, "keep for the paper");
        Files.writeString(root.resolve("run").resolve(m.members().get(0).name()), "a new file a user wrote in its place");
        site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        // The next start has nothing to recover: what the first kept must still be there for the user.
        site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertTrashHoldsOnly(original);
    }

    /** Besides its lock, the trash holds one file, with exactly {@code content}. */
    private void assertTrashHoldsOnly(byte[] content) throws IOException {
        try (var s = Files.list(trash)) {
            assertThat(s.filter(p -> !p.getFileName().toString().equals(TrashBin.LOCK_NAME)))
                    .singleElement().satisfies(p -> assertThat(p).hasBinaryContent(content));
        }
    }

    @Test
    void anInterruptedOffloadIsRecordedOffloadedNotDeleted() throws IOException {
        Path file = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        Interrupted.eviction(site, site.registered(file), "offload", 1);

        site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(file).doesNotExist();
        assertThat(site.registered(file).state()).isEqualTo(CheckpointState.OFFLOADED);
    }
}
