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

/**
 * A root emptied by hand while the agent was stopped ({@code rm -rf} of its last run during maintenance): the
 * next start knows it from an unmounted file system, because the agent kept the device it last saw the root's
 * checkpoints on, and stops listing and counting checkpoints that are gone.
 */
class AgentEmptiedWhileStoppedTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private Agent agent(Config cfg, Path file, SqliteRegistry registry, AuditLog audit, MutableClock clock) throws Exception {
        return new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit), new AgentMetrics("test"), clock);
    }

    @Test
    void aRootEmptiedWhileNoAgentRanHasItsCheckpointsMarkedGoneAtTheNextStart() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        Path saved = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10L, true, T0);
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  listen: 127.0.0.1:0\nroots:\n"
                + "  - path: " + root + "\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"), clock);
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent first = agent(cfg, file, registry, audit, clock)) {
            first.run(PassKind.STARTUP);
            assertThat(registry.byPath(saved.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
        }

        Files.delete(saved);
        Files.delete(saved.getParent());
        clock.advance(Duration.ofHours(1));

        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"), clock);
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent second = agent(cfg, file, registry, audit, clock)) {
            second.run(PassKind.STARTUP);
            assertThat(registry.byPath(saved.toString()).orElseThrow().state())
                    .as("same device as when its checkpoints were seen, before the restart").isEqualTo(CheckpointState.DELETED);
        }
    }
}
