package dev.ckptwarden.daemon;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.RowCounting;
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
 * Issue 17: the registry is the memory. A periodic pass of the agent (reconcile, settling, retention with a
 * quota and a watermark to plan for, gauges, forecast) reads a root a batch of runs at a time: no registry
 * call hands it more checkpoints than {@link PresentRuns#BATCH_ROWS}, however many the root holds.
 */
class AgentPassesStreamRunByRunTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final int PER_RUN = 2500;

    @TempDir
    Path dir;

    @Test
    void aPeriodicPassNeverReadsMoreThanABatchOfCheckpointsAtOnce() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        for (String run : new String[] {"a", "b"}) {
            for (int i = 1; i <= PER_RUN; i++) {
                TreeBuilder.safetensors(root.resolve(run).resolve("step_" + i * 100 + ".safetensors"), T0);
            }
        }
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: " + PER_RUN + "\n    quota:\n      max_bytes: 1TiB\n"
                + "    disk:\n      min_free: 1KiB\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        RowCounting rows = new RowCounting();
        try (SqliteRegistry sqlite = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"))) {
            Registry registry = rows.wrap(sqlite);
            try (Agent agent = new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit),
                    new AgentMetrics("test"), clock)) {
                agent.run(PassKind.STARTUP);
                assertThat(sqlite.present(root.toString())).hasSize(2 * PER_RUN);
                rows.reset();

                clock.set(clock.instant().plus(Duration.ofHours(1)));
                agent.run(PassKind.PERIODIC);
            }
        }

        assertThat(rows.total).as("the pass read the root (settling, retention, gauges, forecast)").isPositive();
        assertThat(rows.largestCall).as("checkpoints one registry call handed the pass").isLessThanOrEqualTo(PresentRuns.BATCH_ROWS);
        assertThat(sqliteCountAfter(root)).isEqualTo(2 * PER_RUN);
    }

    private long sqliteCountAfter(Path root) {
        try (SqliteRegistry sqlite = SqliteRegistry.open(dir.resolve("state"))) {
            return sqlite.present(root.toString()).size();
        }
    }
}
