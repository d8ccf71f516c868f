package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.RowCounting;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 17: a pass streams run by run and the registry is the memory. A pass over an unchanged root reads
 * no checkpoint rows back, and the root's checkpoints are handed on one run at a time, each run read in
 * bounded batches, never as one list of the whole root.
 */
class RunByRunPassTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path root;
    @TempDir
    Path state;

    private SqliteRegistry sqlite;
    private final RowCounting rows = new RowCounting();
    private Registry registry;
    private Reconciler reconciler;
    private Config config;
    private RootConfig rootConfig;

    @BeforeEach
    void open() {
        sqlite = SqliteRegistry.open(state);
        registry = rows.wrap(sqlite);
        reconciler = new Reconciler(registry, new MutableClock(T0.plus(Duration.ofHours(1))));
        rootConfig = RootConfig.watchOnly(root.toString());
        config = new Config(null, AgentSettings.defaults(state), List.of(rootConfig));
    }

    @AfterEach
    void close() {
        reconciler.close();
        sqlite.close();
    }

    private void runs(int runs, int perRun) throws IOException {
        for (int r = 0; r < runs; r++) {
            for (int i = 1; i <= perRun; i++) {
                TreeBuilder.lightningCkpt(root.resolve("run-" + r).resolve("epoch=0-step=" + (i * 100) + ".ckpt"), 0,
                        i * 100, true, T0);
            }
        }
    }

    @Test
    void aPassOverAnUnchangedRootReadsNoCheckpointRowsBack() throws IOException {
        runs(3, 4);
        reconciler.reconcile(config, rootConfig);
        rows.reset();

        RootScan again = reconciler.reconcile(config, rootConfig);

        assertThat(rows.total).as("checkpoint rows the pass read").isZero();
        // What the scan hands on is still every checkpoint of the root, read when it is visited.
        assertThat(again.checkpoints()).hasSize(12).containsExactlyInAnyOrderElementsOf(sqlite.present(root.toString()).values());
    }

    @Test
    void aOneShotScanOfAnUnchangedRootReadsNoCheckpointRows() throws IOException {
        runs(3, 4);
        reconciler.reconcile(config, rootConfig);
        rows.reset();

        RootScan again;
        try (Reconciler fresh = new Reconciler(registry, new MutableClock(T0.plus(Duration.ofHours(1))))) {
            again = fresh.reconcile(config, rootConfig); // what `scan` does: nothing remembered from an earlier pass
        }

        assertThat(rows.total).as("checkpoint rows the pass read").isZero();
        assertThat(again.inspected()).isZero();
        assertThat(again.checkpoints()).hasSize(12).containsExactlyInAnyOrderElementsOf(sqlite.present(root.toString()).values());
    }

    @Test
    void aOneShotScanReadsTheRowsOfAChangedRunOnly() throws IOException {
        runs(3, 4);
        reconciler.reconcile(config, rootConfig);
        TreeBuilder.lightningCkpt(root.resolve("run-1").resolve("epoch=0-step=900.ckpt"), 0, 900, true, T0);
        rows.reset();

        RootScan again;
        try (Reconciler fresh = new Reconciler(registry, new MutableClock(T0.plus(Duration.ofHours(1))))) {
            again = fresh.reconcile(config, rootConfig);
        }

        assertThat(rows.total).as("rows read: those of run-1 only").isEqualTo(4);
        assertThat(again.inspected()).isEqualTo(1);
        assertThat(sqlite.list(root.toString(), "run-1", false)).hasSize(5);
    }

    @Test
    void aScanHandsTheRootOnOneRunAtATimeInTheRegistrysOrder() throws IOException {
        runs(3, 4);
        RootScan scan = reconciler.reconcile(config, rootConfig);
        rows.reset();

        List<List<Registered>> visited = new ArrayList<>();
        scan.present().forEachRun(visited::add);

        assertThat(visited).extracting(run -> run.get(0).run()).containsExactly("run-0", "run-1", "run-2");
        for (List<Registered> run : visited) {
            assertThat(run).isEqualTo(sqlite.list(root.toString(), run.get(0).run(), false));
        }
        assertThat(rows.total).isEqualTo(12);
    }

    @Test
    void aLargeRootIsReadInBatchesOfRunsNotWhole() {
        List<Registered> all = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            for (int i = 1; i <= 3000; i++) {
                Path p = root.resolve("run-" + r).resolve("step_" + i + ".ckpt");
                all.add(new Registered(new Checkpoint(root.toString(), "run-" + r, p.getFileName().toString(), p,
                        List.of(), dev.ckptwarden.catalog.Framework.LIGHTNING,
                        dev.ckptwarden.catalog.CheckpointKind.FILE, 0, (long) i, Map.of(), 10L, T0, true, null,
                        List.of(), List.of(), "sig"), dev.ckptwarden.catalog.CheckpointState.COMPLETE, null, false,
                        null, T0, T0));
            }
        }
        sqlite.upsert(all);

        List<Integer> sizes = new ArrayList<>();
        PresentRuns.registered(registry, root.toString(), c -> true).forEachRun(run -> sizes.add(run.size()));

        assertThat(sizes).containsExactly(3000, 3000, 3000);
        assertThat(rows.largestCall).as("checkpoints one registry call returned").isLessThanOrEqualTo(PresentRuns.BATCH_ROWS);
    }
}
