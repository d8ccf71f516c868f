package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
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

/** Event passes driven directly: they look where events happened, enforce retention there, and keep the view true. */
class AgentEventPassTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    @Test
    void aSaveAnnouncedByAnEventIsRegisteredAndRetentionHoldsWithoutWalkingOtherRuns() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("a/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
            TreeBuilder.lightningCkpt(root.resolve("b/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
        }
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 3\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit),
                     new AgentMetrics("test"), clock)) {
            // The passes are driven by hand: no watcher or scheduler runs, so nothing races the test.
            agent.run(PassKind.STARTUP);
            assertThat(registry.list(root.toString(), null, false)).hasSize(6);

            Path save = TreeBuilder.lightningCkpt(root.resolve("a/epoch=4-step=40.ckpt"), 4, 40, true, T0);
            // Run b changes too, but no event names it: the event pass leaves it to the periodic pass.
            Path unseen = TreeBuilder.lightningCkpt(root.resolve("b/epoch=4-step=40.ckpt"), 4, 40, true, T0);
            agent.dirty(root.toString(), root.resolve("a"));
            agent.run(PassKind.EVENT);

            assertThat(registry.byPath(save.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(root.resolve("a/epoch=1-step=10.ckpt")).as("keep_last 3 evicted the oldest of a").doesNotExist();
            assertThat(registry.byPath(root.resolve("a/epoch=1-step=10.ckpt").toString()).orElseThrow().state())
                    .isEqualTo(CheckpointState.DELETED);
            assertThat(registry.byPath(unseen.toString())).isEmpty();
            assertThat(root.resolve("b/epoch=1-step=10.ckpt")).exists();

            // The next event pass plans from the view the last one left: nothing removed twice or missed.
            agent.dirty(root.toString(), root.resolve("a"));
            agent.run(PassKind.EVENT);
            assertThat(registry.list(root.toString(), "a", false)).extracting(c -> c.name())
                    .containsExactlyInAnyOrder("epoch=2-step=20.ckpt", "epoch=3-step=30.ckpt", "epoch=4-step=40.ckpt");

            agent.run(PassKind.PERIODIC);
            assertThat(registry.byPath(unseen.toString())).isPresent();
            assertThat(root.resolve("b/epoch=1-step=10.ckpt")).doesNotExist();
        }
    }

    @Test
    void theCoalescingWindowFollowsThePassTime() {
        assertThat(WatchEvents.coalesceWindow(Duration.ofMillis(2))).isEqualTo(WatchEvents.COALESCE_MIN);
        assertThat(WatchEvents.coalesceWindow(Duration.ofMillis(50))).isEqualTo(Duration.ofMillis(150));
        assertThat(WatchEvents.coalesceWindow(Duration.ofSeconds(2))).isEqualTo(WatchEvents.COALESCE);
    }
}
