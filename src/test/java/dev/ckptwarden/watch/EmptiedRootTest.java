package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A root that a pass finds empty although checkpoints are registered there: emptied by hand ({@code rm -rf} of
 * its last run: still the device its checkpoints were seen on) its rows are marked gone; a mount point whose
 * file system is no longer mounted (the bare directory underneath, on its parent's device) keeps them.
 */
class EmptiedRootTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path root;
    @TempDir
    Path state;

    private SqliteRegistry registry;
    private Reconciler reconciler;
    private Config config;
    private RootConfig rootConfig;
    private boolean mounted;

    @BeforeEach
    void open() {
        registry = SqliteRegistry.open(state);
        reconciler = new Reconciler(registry, new MutableClock(T0.plus(Duration.ofHours(1))));
        rootConfig = RootConfig.watchOnly(root.toString());
        config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rootConfig));
    }

    @AfterEach
    void close() throws Exception {
        reconciler.close();
        registry.close();
        if (mounted) {
            umount();
        }
    }

    private Registered row(Path p) {
        return registry.byPath(p.toString()).orElseThrow();
    }

    @Test
    void removingTheLastRunOfARootMarksItsCheckpointsGone() throws IOException {
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        reconciler.reconcile(config, rootConfig);
        BadInputReconcileTest.deleteTree(root.resolve("run"));

        RootScan s = reconciler.reconcile(config, rootConfig);

        assertThat(s.gone()).isEqualTo(1);
        assertThat(s.checkpoints()).isEmpty();
        assertThat(s.problems()).isEmpty();
        assertThat(row(f).state()).isEqualTo(CheckpointState.DELETED);
        assertThat(row(f).note()).contains("root emptied");
    }

    @Test
    void lookingAtTheRemovedLastRunOfARootMarksItsCheckpointsGone() throws IOException {
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        reconciler.reconcile(config, rootConfig);
        BadInputReconcileTest.deleteTree(root.resolve("run"));

        assertThat(reconciler.reconcileRun(config, rootConfig, "run")).isEmpty();

        assertThat(row(f).state()).isEqualTo(CheckpointState.DELETED);
    }

    @Test
    void aRootWhoseFileSystemIsNoLongerMountedKeepsItsCheckpoints() throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", root.toString())
                .redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes());
        mounted = p.waitFor() == 0;
        assumeTrue(mounted, "a root on its own file system needs mount (root): " + said.strip());
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        reconciler.reconcile(config, rootConfig);
        umount(); // the bare directory underneath is left, empty, on its parent's device

        RootScan s = reconciler.reconcile(config, rootConfig);

        assertThat(s.gone()).isZero();
        assertThat(s.problems()).anyMatch(m -> m.message().contains("parent's device"));
        assertThat(row(f).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(reconciler.reconcileRun(config, rootConfig, "run")).isEmpty();
        assertThat(row(f).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    private void umount() throws Exception {
        new ProcessBuilder("umount", root.toString()).inheritIO().start().waitFor();
        mounted = false;
    }
}
