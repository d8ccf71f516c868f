package dev.ckptwarden.watch;

import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.RegistryCalls;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Passes over a PostgreSQL registry (cluster mode) reuse what they read while no one else wrote, as they do
 * on SQLite: an unchanged pass reads the root's rows once, and a watch event in one run costs that run.
 */
class SharedRegistryPassTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final int RUNS = 10;

    @TempDir
    Path tmp;
    @TempDir
    Path state;

    private Path root;
    private String url;
    private PostgresRegistry registry;
    private RegistryCalls calls;
    private Reconciler reconciler;
    private Config config;
    private RootConfig rootConfig;

    @BeforeEach
    void open() throws Exception {
        PostgresServer server = PostgresServer.shared();
        url = server.freshDatabase();
        root = tmp.toRealPath();
        for (int r = 0; r < RUNS; r++) {
            for (int s = 1; s <= 3; s++) {
                TreeBuilder.lightningCkpt(root.resolve("run" + r + "/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s,
                        s * 10L, true, T0);
            }
        }
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        registry = PostgresRegistry.open(url, server.env(), clock);
        calls = new RegistryCalls(registry);
        reconciler = new Reconciler(calls.registry(), clock);
        rootConfig = RootConfig.watchOnly(root.toString());
        config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rootConfig));
    }

    @AfterEach
    void close() {
        reconciler.close();
        registry.close();
    }

    @Test
    void aPassOverAnUnchangedTreeReadsTheRootsRowsOnce() {
        RootScan first = reconciler.reconcile(config, rootConfig);
        assertThat(first.checkpoints()).hasSize(RUNS * 3);
        calls.reset();

        RootScan again = reconciler.reconcile(config, rootConfig);

        assertThat(again.checkpoints()).hasSize(RUNS * 3);
        // The pass itself reads no rows back (it hands the root on run by run); checkpoints() above reads them
        // once at most. Before the change counter a PostgreSQL pass read the whole root twice.
        assertThat(calls.count("present")).as("the root's rows, read at most once for the whole pass").isLessThanOrEqualTo(1);
        assertThat(calls.runsListed()).as("no run read again: nothing changed").isEmpty();
    }

    @Test
    void aFirstPassThatRegistersNothingNewReadsTheRootOnce() {
        reconciler.reconcile(config, rootConfig);
        // Another agent (a fresh reconciler: no memory) over the same registry and the same, unchanged tree.
        try (Reconciler other = new Reconciler(calls.registry(), Clock.fixed(T0.plus(Duration.ofHours(2)), java.time.ZoneOffset.UTC))) {
            calls.reset();
            RootScan scan = other.reconcile(config, rootConfig);
            assertThat(scan.checkpoints()).hasSize(RUNS * 3);
            // One read of what tells each run unchanged, for the whole root; no checkpoint row read during the pass.
            assertThat(calls.count("settledRuns")).as("the first read still holds at the end of the pass").isEqualTo(1);
            assertThat(calls.count("present") + calls.count("list") + calls.count("settledRun")).isZero();
        }
    }

    @Test
    void aWriteByAnotherAgentIsSeenByTheNextPass() {
        reconciler.reconcile(config, rootConfig);
        String key = root.resolve("run3/epoch=2-step=20.ckpt").toString();
        try (PostgresRegistry otherAgent = PostgresRegistry.open(url, PostgresServer.shared().env(), Clock.systemUTC())) {
            assertThat(otherAgent.pin(key, true, "release")).isTrue();
        }

        RootScan next = reconciler.reconcile(config, rootConfig);

        assertThat(next.checkpoints()).filteredOn(c -> c.key().equals(key)).singleElement()
                .satisfies(c -> assertThat(c.pinned()).isTrue());
    }

    @Test
    void aWatchEventInOneRunReadsThatRunAndNotTheRest() throws Exception {
        RootScan full = reconciler.reconcile(config, rootConfig);
        Path run = root.resolve("run4");
        TreeBuilder.lightningCkpt(run.resolve("epoch=4-step=40.ckpt"), 4, 40L, true, T0);
        calls.reset();

        RootScan scoped = reconciler.reconcile(config, rootConfig, Set.of(run));

        assertThat(scoped.checkpoints()).hasSize(RUNS * 3 + 1);
        assertThat(calls.runsListed()).as("rows read of the run the event named only").containsExactly("run4");
        assertThat(scoped.entries()).as("entries read: run4's listing, not the root's tree (%d)", full.entries())
                .isEqualTo(4);
    }
}
