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

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's start ({@link Agent#start()}) with the real watcher on a real directory: what READY waits for and
 * what it does not. The schedule only records (and, where a test says so, writes a save at a chosen point of the
 * startup pass); the test runs the passes itself.
 */
class AgentStartTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));

    /** Records what the agent asks for; runs {@code onSettle} the first time a settle pass is asked for. */
    private static final class Recording implements PassSchedule {
        final List<PassKind> kinds = new CopyOnWriteArrayList<>();
        final List<Instant> times = new CopyOnWriteArrayList<>();
        final BlockingQueue<PassKind> events = new LinkedBlockingQueue<>();
        Runnable onSettle = () -> { };

        @Override
        public void every(Duration p) {
        }

        @Override
        public boolean once(PassKind kind, Instant at) {
            kinds.add(kind);
            times.add(at);
            if (kind == PassKind.EVENT) {
                events.add(kind);
            }
            if (kind == PassKind.SETTLE) {
                Runnable r = onSettle;
                onSettle = () -> { };
                r.run();
            }
            return true;
        }

        @Override
        public void renewEvery(Duration p, Runnable renewal) {
        }

        @Override
        public void start() {
        }

        @Override
        public boolean running() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    private Config config(Path root) throws Exception {
        Path file = dir.resolve("ckpt-warden.yaml");
        // Watch-only (no retention): the startup pass itself changes nothing under the root.
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root + "\n");
        return ConfigLoader.load(file, Map.of());
    }

    @Test
    void aSaveMadeWhileTheStartupPassRunsIsHeardAndRegisteredByAnEventPass() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        TreeBuilder.lightningCkpt(root.resolve("a/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        // Still settling: the startup pass asks for a settle pass once it has walked the root. That is where
        // the save below is made: after the walk, before the agent is READY.
        TreeBuilder.lightningCkpt(root.resolve("a/epoch=2-step=20.ckpt"), 2, 20, true, clock.instant().minusSeconds(4));
        Path save = root.resolve("a/epoch=3-step=30.ckpt");
        Recording schedule = new Recording();
        schedule.onSettle = () -> {
            try {
                TreeBuilder.lightningCkpt(save, 3, 30, true, T0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(config(root), dir.resolve("ckpt-warden.yaml"), Map.of(), registry,
                     new Enforcer(registry, audit), new AgentMetrics("test"), clock, passes -> schedule)) {
            agent.start();
            assertThat(schedule.kinds).contains(PassKind.SETTLE);
            assertThat(registry.byPath(save.toString())).as("made after the startup pass walked run a").isEmpty();

            // The kernel and the watcher's thread get at most 30 s: a bound on waiting (an event heard returns
            // at once), wide for a loaded 2-core CI machine. Registered after the walk, the directory never hears it.
            assertThat(schedule.events.poll(30, TimeUnit.SECONDS))
                    .as("the save made during the startup pass was heard: its directory was watched before it was walked")
                    .isEqualTo(PassKind.EVENT);
            agent.run(PassKind.EVENT);
            assertThat(registry.byPath(save.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
        }
    }

    @Test
    void theFilesystemForecastFollowsTheStartupPassAtOnceRatherThanDelayingReady() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        TreeBuilder.lightningCkpt(root.resolve("a/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        Recording schedule = new Recording();
        AgentMetrics metrics = new AgentMetrics("test");
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(config(root), dir.resolve("ckpt-warden.yaml"), Map.of(), registry,
                     new Enforcer(registry, audit), metrics, clock, passes -> schedule)) {
            agent.start();
            assertThat(registry.byPath(root.resolve("a/epoch=1-step=10.ckpt").toString())).isPresent();
            assertThat(schedule.kinds).as("asked for at once, before the schedule starts: the first thing it runs")
                    .containsExactly(PassKind.FORECAST);
            assertThat(schedule.times).containsExactly(clock.instant());

            agent.run(PassKind.FORECAST);
            assertThat(scrape(metrics)).containsPattern("ckpt_warden_filesystem_full_forecast_seconds\\{mount=\"[^\"]+\"}");
        }
    }

    private static String scrape(AgentMetrics metrics) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape(null, out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
