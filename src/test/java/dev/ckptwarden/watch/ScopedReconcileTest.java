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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Passes limited to the directories watch events named: they find what changed there, cost a
 * listing of those places rather than a walk of the root, and still report the whole root.
 */
class ScopedReconcileTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final int RUNS = 20;

    @TempDir
    Path tmp;
    @TempDir
    Path state;

    private Path root;
    private SqliteRegistry registry;
    private MutableClock clock;
    private Reconciler reconciler;
    private Config config;
    private RootConfig rootConfig;
    private long fullEntries;

    @BeforeEach
    void open() throws IOException {
        root = tmp.toRealPath();
        for (int r = 0; r < RUNS; r++) {
            for (int s = 1; s <= 5; s++) {
                TreeBuilder.lightningCkpt(root.resolve("run" + r + "/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L,
                        true, T0);
            }
        }
        TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);
        registry = SqliteRegistry.open(state);
        clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        reconciler = new Reconciler(registry, clock);
        rootConfig = RootConfig.watchOnly(root.toString());
        config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rootConfig));
        RootScan full = reconciler.reconcile(config, rootConfig);
        assertThat(full.checkpoints()).hasSize(RUNS * 5 + 1);
        fullEntries = full.entries();
    }

    @AfterEach
    void close() {
        registry.close();
    }

    private RootScan scoped(Path... where) {
        return reconciler.reconcile(config, rootConfig, Set.of(where));
    }

    private static Map<String, Registered> byKey(RootScan s) {
        return s.checkpoints().stream().collect(Collectors.toMap(Registered::key, c -> c));
    }

    @Test
    void aNewSaveIsFoundByListingItsRunDirectoryOnly() throws IOException {
        Path save = TreeBuilder.lightningCkpt(root.resolve("run7/epoch=6-step=60.ckpt"), 6, 60, true, T0);

        RootScan s = scoped(root.resolve("run7"));

        assertThat(byKey(s)).containsKey(save.toString());
        assertThat(byKey(s).get(save.toString()).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(s.checkpoints()).as("the whole root is reported").hasSize(RUNS * 5 + 2);
        assertThat(s.inspected()).isEqualTo(1);
        assertThat(s.entries()).as("entries read by the scoped pass vs the full walk's " + fullEntries)
                .isLessThanOrEqualTo(10);
        assertThat(registry.byPath(save.toString())).isPresent();
    }

    @Test
    void aDeletionIsRecordedAndNothingElseIsTouched() throws IOException {
        Path gone = root.resolve("run3/epoch=2-step=20.ckpt");
        Files.delete(gone);
        // Changed elsewhere, but no event named that place: left for the periodic full pass.
        Path elsewhere = TreeBuilder.lightningCkpt(root.resolve("run9/epoch=1-step=10.ckpt"), 1, 10, false,
                T0.plusSeconds(60));

        RootScan s = scoped(root.resolve("run3"));

        assertThat(s.gone()).isEqualTo(1);
        assertThat(registry.byPath(gone.toString()).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
        assertThat(byKey(s)).doesNotContainKey(gone.toString());
        assertThat(byKey(s).get(elsewhere.toString()).resumable()).as("not looked at yet").isTrue();
        RootScan full = reconciler.reconcile(config, rootConfig);
        assertThat(byKey(full).get(elsewhere.toString()).resumable()).as("the full pass catches it").isFalse();
    }

    @Test
    void aNewRunDirectoryIsWalkedWithoutItsSiblings() throws IOException {
        Path a = TreeBuilder.lightningCkpt(root.resolve("new-run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        Path b = TreeBuilder.lightningCkpt(root.resolve("new-run/nested/epoch=1-step=10.ckpt"), 1, 10, true, T0);

        RootScan s = scoped(root.resolve("new-run"));

        assertThat(byKey(s)).containsKeys(a.toString(), b.toString());
        assertThat(byKey(s).get(b.toString()).run()).isEqualTo("new-run/nested");
        // Listing the root looks one level into each run directory (is it a checkpoint directory?),
        // so a new run directory costs about a walk of a two-level tree, but inspects only what is new.
        assertThat(s.inspected()).isEqualTo(2);
        assertThat(s.checkpoints()).hasSize(RUNS * 5 + 3);
    }

    @Test
    void aChangeInsideADirectoryCheckpointReinspectsThatCheckpoint() throws IOException {
        Path hf = root.resolve("hf/checkpoint-500");
        assertThat(registry.byPath(hf.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
        Path weights = hf.resolve("model.safetensors");
        Files.write(weights, new byte[16]); // truncated in place: the header no longer makes sense
        Files.setLastModifiedTime(weights, java.nio.file.attribute.FileTime.from(T0.plusSeconds(60)));

        RootScan s = scoped(hf);

        assertThat(s.inspected()).isEqualTo(1);
        assertThat(byKey(s).get(hf.toString()).state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(byKey(s)).doesNotContainKey(weights.toString()); // a file inside a checkpoint is not one itself
        assertThat(s.checkpoints()).hasSize(RUNS * 5 + 1);
    }

    /**
     * Lightning's {@code val/loss} monitor writes {@code epoch=0-step=100-val/loss=0.88.ckpt}: the change is heard
     * in that sub-directory (and a settle timer of the save looks there), while the checkpoint is found by listing
     * the run directory above it. It was marked deleted though on disk, and came back as new at the next full
     * pass, its pin and first-seen time lost.
     */
    @Test
    void aChangeInALightningMetricSubdirectoryKeepsItsCheckpoint() throws IOException {
        Path save = TreeBuilder.lightningCkpt(root.resolve("run3/epoch=6-step=60-val/loss=0.88.ckpt"), 6, 60L, true, T0);
        reconciler.reconcile(config, rootConfig);
        assertThat(registry.pin(save.toString(), true, "best")).isTrue();
        TreeBuilder.lightningCkpt(save.getParent().resolve("loss=0.87.ckpt"), 7, 70L, true, T0);

        RootScan s = scoped(save.getParent());

        assertThat(s.gone()).isZero();
        assertThat(byKey(s)).containsKeys(save.toString(), save.getParent().resolve("loss=0.87.ckpt").toString());
        assertThat(registry.byPath(save.toString()).orElseThrow()).satisfies(c -> {
            assertThat(c.state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(c.pinned()).isTrue();
        });
    }

    @Test
    void aRemovedRunDirectoryMarksItsCheckpointsGone() throws IOException {
        Path run = root.resolve("run4");
        try (var files = Files.list(run)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(run);

        RootScan s = scoped(run);

        assertThat(s.gone()).isEqualTo(5);
        assertThat(s.checkpoints()).hasSize((RUNS - 1) * 5 + 1);
    }

    @Test
    void noScopeReadsNothingAndReportsTheLastView() {
        RootScan s = scoped();

        assertThat(s.entries()).isZero();
        assertThat(s.checkpoints()).hasSize(RUNS * 5 + 1);
    }

    @Test
    void aSaveDirectlyInTheRootIsFoundByListingTheRootOnly() throws IOException {
        Path save = TreeBuilder.lightningCkpt(root.resolve("epoch=9-step=90.ckpt"), 9, 90, true, T0);

        RootScan s = scoped(root);

        assertThat(byKey(s)).containsKey(save.toString());
        assertThat(byKey(s).get(save.toString()).run()).isEqualTo(".");
        assertThat(s.inspected()).isEqualTo(1);
        assertThat(s.checkpoints()).as("the whole root is reported").hasSize(RUNS * 5 + 2);
        // The root's own entries (its run directories, the new file): not each run directory's listing again.
        assertThat(s.entries()).as("entries read vs the full walk's " + fullEntries).isEqualTo(RUNS + 2);
    }

    @Test
    void aChangeInTheRootFindsANewRunDirectoryAndARemovedOne() throws IOException {
        Path added = TreeBuilder.lightningCkpt(root.resolve("late-run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        Path removed = root.resolve("run4");
        try (var files = Files.list(removed)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(removed);

        RootScan s = scoped(root);

        assertThat(s.gone()).isEqualTo(5);
        assertThat(byKey(s)).containsKey(added.toString());
        assertThat(s.checkpoints()).hasSize((RUNS - 1) * 5 + 1 + 1);
        assertThat(registry.byPath(removed.resolve("epoch=1-step=10.ckpt").toString()).orElseThrow().state())
                .isEqualTo(CheckpointState.DELETED);
        RootScan full = reconciler.reconcile(config, rootConfig);
        assertThat(byKey(full).keySet()).as("what a full pass finds").isEqualTo(byKey(s).keySet());
        assertThat(full.gone()).isZero();
    }

    @Test
    void aRootEmptiedByHandMarksEverythingGoneAsAFullPassDoes() throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!p.equals(root)) {
                    Files.delete(p);
                }
            }
        }

        RootScan s = scoped(root);

        // The full pass's rule: a root emptied on the same file system its checkpoints were seen on was emptied.
        assertThat(s.gone()).isEqualTo(RUNS * 5 + 1);
        assertThat(s.checkpoints()).isEmpty();
    }

    @Test
    void anotherWriterMeansAFullPass() throws IOException {
        // Another process (a `pin` from the CLI) wrote to the registry: the view may be stale.
        try (SqliteRegistry other = SqliteRegistry.open(state)) {
            other.pin(root.resolve("run1/epoch=1-step=10.ckpt").toString(), true, "paper");
        }
        RootScan s = scoped(root.resolve("run2"));
        assertThat(s.entries()).isEqualTo(fullEntries);
        assertThat(byKey(s).get(root.resolve("run1/epoch=1-step=10.ckpt").toString()).pinned()).isTrue();
    }
}
