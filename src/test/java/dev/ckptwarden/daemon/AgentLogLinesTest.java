package dev.ckptwarden.daemon;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.LogLines;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 15: the agent's log reads as its configuration is written, and a state change is one line, not zero or one per pass. */
class AgentLogLinesTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    @Test
    void startAndStopLinesReadAsTheConfigurationIsWritten() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1m\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root + "\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        // The clock is the real time: the scheduler runs, and its first periodic pass is a minute away.
        MutableClock clock = new MutableClock(Instant.now());
        try (AgentMetrics metrics = new AgentMetrics("test");
             SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             LogLines logs = LogLines.capture()) {
            Agent agent = new Agent(cfg, null, Map.of(), registry, new Enforcer(registry, audit), metrics, clock);
            agent.start();
            agent.close();
            agent.close(); // a second close (try-with-resources after an explicit one) says nothing more

            List<String> lines = logs.lines();
            assertThat(lines).contains("INFO agent started: 1 root(s), full reconcile every 1m, settle time 10s");
            assertThat(lines).filteredOn(l -> l.startsWith("INFO serving ")).singleElement().asString()
                    .matches("INFO serving /metrics, /healthz and /api/v1 on 127\\.0\\.0\\.1:\\d+");
            assertThat(lines).filteredOn(l -> l.contains("stopped")).containsExactly("INFO stopped");
            assertThat(lines.get(lines.size() - 1)).isEqualTo("INFO stopped");
        }
    }

    @Test
    void aQuotaPressureEpisodeIsOneLineWhenItStartsAndOneWhenItEnds() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        long size = 0;
        for (int s = 1; s <= 4; s++) {
            Path c = TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true,
                    T0.plusSeconds(s));
            size = Files.size(c);
        }
        Path file = dir.resolve("ckpt-warden.yaml");
        // Room for two and a half checkpoints: the first pass evicts two for the quota, the next ones none.
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 10\n    quota:\n      max_bytes: " + (size * 5 / 2) + "\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        try (AgentMetrics metrics = new AgentMetrics("test");
             SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, null, Map.of(), registry, new Enforcer(registry, audit), metrics, clock);
             LogLines logs = LogLines.capture()) {
            // Passes driven by hand: no scheduler runs, so nothing races the test.
            agent.run(PassKind.STARTUP);
            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).as("evicted for the quota").doesNotExist();
            for (int pass = 0; pass < 3; pass++) {
                clock.advance(Duration.ofMinutes(1));
                agent.run(PassKind.PERIODIC);
            }

            assertThat(logs.lines()).filteredOn(l -> l.contains("pressure")).containsExactly(
                    "WARN root " + root + ": quota pressure: evicting 2 checkpoint(s), least valuable first",
                    "INFO root " + root + ": pressure resolved");
        }
    }

    @Test
    void aFreeSpacePressureEpisodeSaysDiskPressureOnceAndCountsOnlyWhatPressureEvicts() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        for (int s = 1; s <= 5; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true,
                    T0.plusSeconds(s));
        }
        Path file = dir.resolve("ckpt-warden.yaml");
        // keep_last 3 evicts one for policy; a free-space floor no disk can meet asks for the rest.
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 3\n    disk:\n      min_free_ratio: 0.99999\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        try (AgentMetrics metrics = new AgentMetrics("test");
             SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, null, Map.of(), registry, new Enforcer(registry, audit), metrics, clock);
             LogLines logs = LogLines.capture()) {
            agent.run(PassKind.STARTUP);
            clock.advance(Duration.ofMinutes(1));
            agent.run(PassKind.PERIODIC);

            assertThat(root.resolve("run")).isDirectoryContaining("glob:**/epoch=5-step=50.ckpt");
            // keep_last's two oldest go for the pressure (the newest is protected); policy's two are not counted.
            assertThat(logs.lines()).filteredOn(l -> l.contains("pressure") && !l.contains(": evicted ")).satisfiesExactly(
                    l -> assertThat(l).isEqualTo("WARN root " + root + ": disk pressure: evicting 2 checkpoint(s), least valuable first"),
                    l -> assertThat(l).startsWith("ERROR root " + root + ": pressure unresolved: filesystem needs ")
                            .endsWith("protected checkpoints are never removed to make room"));
        }
    }

    @Test
    void aRootWhoseEnforcementKeepsFailingIsOneLineAndCountsItsEvictionsAsFailures() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true,
                    T0.plusSeconds(s));
        }
        // What a read-only mount or a foreign file where the trash goes does: no eviction of the root can start.
        Path blocker = Files.writeString(root.resolve(".ckpt-warden-trash"), "not a directory");
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 1\n");
        Config cfg = ConfigLoader.load(file, Map.of());
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        try (AgentMetrics metrics = new AgentMetrics("test");
             SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, null, Map.of(), registry, new Enforcer(registry, audit), metrics, clock);
             LogLines logs = LogLines.capture()) {
            agent.run(PassKind.STARTUP);
            for (int pass = 0; pass < 3; pass++) {
                clock.advance(Duration.ofMinutes(1));
                agent.run(PassKind.PERIODIC);
            }
            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).exists();
            assertThat(logs.lines()).filteredOn(l -> l.contains("enforcement")).singleElement().asString()
                    .isEqualTo("ERROR root " + root + ": enforcement failing: " + blocker
                            + ": exists and is not a directory the agent made; 2 eviction(s) wait, nothing is removed until it works");
            // Two evictions planned in each of four passes: the alert on failures fires and keeps firing.
            assertThat(failures(metrics)).isEqualTo(8.0);

            Files.delete(blocker);
            clock.advance(Duration.ofMinutes(1));
            agent.run(PassKind.PERIODIC);
            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).doesNotExist();
            assertThat(logs.lines()).filteredOn(l -> l.contains("enforcement")).last().asString()
                    .isEqualTo("INFO root " + root + ": enforcement works again after 4 failed pass(es) over 4m");
        }
    }

    private static double failures(AgentMetrics metrics) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        metrics.scrape("text/plain", out);
        for (String line : out.toString(java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith("ckpt_warden_eviction_failures_total{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }
}
