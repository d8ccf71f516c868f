package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Live configuration changes, driven directly (no waiting for file events or timers). */
class AgentReloadTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private String yaml(Path... roots) {
        StringBuilder sb = new StringBuilder("agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n");
        for (Path r : roots) {
            sb.append("  - path: ").append(r).append('\n');
        }
        return sb.toString();
    }

    /** An agent whose clock reads an hour after the test files were written (all settled). */
    private static Agent agent(Config cfg, Path file, SqliteRegistry registry) throws Exception {
        return new Agent(cfg, file, Map.of(), registry, new dev.ckptwarden.enforce.Enforcer(registry, null),
                new dev.ckptwarden.export.AgentMetrics("test"), new MutableClock(T0.plus(Duration.ofHours(1))));
    }

    @Test
    void invalidEditIsRejectedPreviousConfigStaysAndNextValidEditApplies() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        TreeBuilder.lightningCkpt(a.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        TreeBuilder.lightningCkpt(b.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, T0);
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, yaml(a));
        Config cfg = ConfigLoader.load(file, Map.of());
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             Agent agent = agent(cfg, file, registry)) {
            agent.start();
            assertThat(registry.list(a.toString(), null, false)).hasSize(1);

            Files.writeString(file, yaml(a) + "    retention:\n      keep_lst: 3\n");
            assertThat(agent.reload(ReloadReason.SIGHUP)).isFalse();
            assertThat(agent.lastReloadSuccessful()).isFalse();
            assertThat(agent.config()).isSameAs(cfg);

            Files.writeString(file, yaml(a, b));
            assertThat(agent.reload(ReloadReason.SIGHUP)).isTrue();
            assertThat(agent.lastReloadSuccessful()).isTrue();
            assertThat(agent.config().roots()).hasSize(2);
            agent.run(PassKind.RELOAD);
            assertThat(registry.list(b.toString(), null, false)).hasSize(1);

            // Removing a root stops scanning it; its checkpoints are not declared deleted.
            Files.writeString(file, yaml(b));
            assertThat(agent.reload(ReloadReason.SIGHUP)).isTrue();
            agent.run(PassKind.RELOAD);
            assertThat(registry.list(a.toString(), null, false)).hasSize(1);
            assertThat(agent.healthy()).isTrue();
        }
    }

    @Test
    void aReloadOfADeeplyNestedFileIsRejectedAndTheReloadGaugeGoesToZero() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, yaml(a));
        Config cfg = ConfigLoader.load(file, Map.of());
        dev.ckptwarden.export.AgentMetrics metrics = new dev.ckptwarden.export.AgentMetrics("test");
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, file, Map.of(), registry, new dev.ckptwarden.enforce.Enforcer(registry, null),
                     metrics, new MutableClock(T0.plus(Duration.ofHours(1))))) {
            agent.start();
            assertThat(reloadGauge(metrics)).isEqualTo("1.0");

            // issue 14: a StackOverflowError escaped into the Quartz job and the gauge stayed at 1
            Files.writeString(file, yaml(a) + "    name: " + "{a: ".repeat(1000) + "1" + "}".repeat(1000) + "\n");
            // On a thread with a small stack: the launcher (-Xss512k, C1) overflowed at this depth; so does this.
            java.util.concurrent.atomic.AtomicReference<Object> outcome = new java.util.concurrent.atomic.AtomicReference<>();
            Thread worker = new Thread(null, () -> {
                try {
                    outcome.set(agent.reload(ReloadReason.SIGHUP));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            }, "reload", 256 * 1024);
            worker.start();
            worker.join();
            assertThat(outcome.get()).isEqualTo(false);

            assertThat(agent.lastReloadSuccessful()).isFalse();
            assertThat(reloadGauge(metrics)).isEqualTo("0.0");
            assertThat(agent.config()).isSameAs(cfg);
            agent.reload(ReloadReason.SIGHUP); // the scheduled path: the pass after the rejected reload still runs
            agent.run(PassKind.RELOAD);
            assertThat(agent.healthy()).isTrue();
        } finally {
            metrics.close();
        }
    }

    private static String reloadGauge(dev.ckptwarden.export.AgentMetrics metrics) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        metrics.scrape(null, out);
        return out.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                .filter(l -> l.startsWith("ckpt_warden_config_last_reload_successful "))
                .map(l -> l.substring(l.indexOf(' ') + 1)).findFirst().orElseThrow();
    }

    @Test
    void rootThatAppearsAfterStartupIsPickedUpByTheNextPass() throws Exception {
        Path late = dir.resolve("late");
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, yaml(late));
        Config cfg = ConfigLoader.load(file, Map.of());
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             Agent agent = agent(cfg, file, registry)) {
            agent.start(); // the root does not exist yet: reported, the agent keeps running
            assertThat(registry.list(null, null, true)).isEmpty();
            TreeBuilder.lightningCkpt(late.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
            agent.run(PassKind.PERIODIC);
            assertThat(registry.list(null, null, false)).extracting(c -> c.name()).containsExactly("epoch=1-step=10.ckpt");
            assertThat(agent.healthy()).isTrue();
        }
    }

    @Test
    void settlingCheckpointIsCompletedByItsOwnTimer() {
        Instant now = T0.plus(Duration.ofHours(1));
        var writing = dev.ckptwarden.catalog.CheckpointState.WRITING;
        Instant modified = now.minusSeconds(4);
        var c = new Registered(new Checkpoint("r", "run", "x.ckpt", Path.of("/r/run/x.ckpt"), java.util.List.of(),
                dev.ckptwarden.catalog.Framework.LIGHTNING, dev.ckptwarden.catalog.CheckpointKind.FILE, null, null,
                Map.of(), 1, modified, null, null, java.util.List.of(), java.util.List.of(), "s"), writing,
                "changed 4s ago (settle time 10s)", false, null, now, now);
        assertThat(Settling.due(java.util.List.of(c), Duration.ofSeconds(10), now))
                .isEqualTo(modified.plusSeconds(10).plusMillis(50));
    }

    /**
     * A file time ahead of the clock (it stepped back after the last write) says nothing about when the save
     * settles: the agent looks again one settle time from now (when it has seen it quiet that long), not when
     * the clock catches up with the file an hour later.
     */
    @Test
    void settlingCheckpointAheadOfTheClockIsLookedAtAgainOneSettleTimeLater() {
        Instant now = T0.plus(Duration.ofHours(1));
        var writing = dev.ckptwarden.catalog.CheckpointState.WRITING;
        var c = new Registered(new Checkpoint("r", "run", "x.ckpt", Path.of("/r/run/x.ckpt"), java.util.List.of(),
                dev.ckptwarden.catalog.Framework.LIGHTNING, dev.ckptwarden.catalog.CheckpointKind.FILE, null, null,
                Map.of(), 1, now.plus(Duration.ofHours(1)), null, null, java.util.List.of(), java.util.List.of(), "s"),
                writing, "changed 0s ago (settle time 10s)", false, null, now, now);
        assertThat(Settling.due(java.util.List.of(c), Duration.ofSeconds(10), now))
                .isEqualTo(now.plusSeconds(10).plusMillis(50));
    }
}
