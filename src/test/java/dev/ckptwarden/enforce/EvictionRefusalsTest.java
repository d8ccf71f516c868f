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
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Refusals and bookkeeping of the deletion protocol that only show when the plan and the world disagree. */
class EvictionRefusalsTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private Site site;
    private Path root;

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        root = site.root;
    }

    @AfterEach
    void close() throws IOException {
        site.close();
    }

    private Path ckpt(String rel, int step) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        return TreeBuilder.lightningCkpt(p, 1, step, true, Site.T0);
    }

    @Test
    void anEvictionPlannedWhileItsCheckpointWasPinnedIsRefusedEvenIfThePinWasLiftedSince() throws IOException {
        Path file = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        site.registry.pin(file.toString(), true, "keep");
        Eviction planned = site.eviction(file); // a plan must never carry a pinned checkpoint
        site.registry.pin(file.toString(), false, null);

        site.enforce(false, planned);

        assertThat(file).exists();
        assertThat(site.registered(file).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void aCheckpointTheRegistryRecordsAsOffloadedIsNotDeletedByAnOlderPlanWhileItsFileIsStillThere() throws IOException {
        Path file = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Eviction planned = site.eviction(file);
        // Another pass offloaded it meanwhile, and the file is back (or was never removed): the registry and the
        // disk disagree, and the stale plan must not settle that by deleting.
        site.registry.markGone(List.of(file.toString()), CheckpointState.OFFLOADED, site.clock.instant(), "quota");

        site.enforce(false, planned);

        assertThat(file).exists();
        assertThat(site.registered(file).state()).isEqualTo(CheckpointState.OFFLOADED);
    }

    @Test
    void twoAgentsInOneProcessNeverShareAnEvictionIdOnAStoppedClock() throws IOException {
        Path a = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path b = ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();

        site.enforcer().enforce(site.rootConfig, root, List.of(site.eviction(a)), false, site.clock.instant());
        site.enforcer().enforce(site.rootConfig, root, List.of(site.eviction(b)), false, site.clock.instant());

        assertThat(a).doesNotExist();
        assertThat(b).doesNotExist();
        List<AuditRecord> begins = site.auditLines().stream().filter(l -> l.phase().equals(AuditRecord.BEGIN)).toList();
        assertThat(begins).hasSize(2);
        assertThat(begins.get(0).eviction()).isNotEqualTo(begins.get(1).eviction());
    }
}
