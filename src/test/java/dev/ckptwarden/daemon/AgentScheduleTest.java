package dev.ckptwarden.daemon;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the agent asks of its schedule, read as kinds and instants (issue 17: pass kinds and reload
 * reasons were encoded in trigger names and parsed back). The schedule here only records; the test
 * runs the passes itself, so time moves only when the clock is advanced.
 */
class AgentScheduleTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    /** A schedule that runs nothing and remembers every one-off pass asked of it (also used by AgentClusterTest). */
    static final class RecordingSchedule implements PassSchedule {
        final List<PassKind> kinds = new ArrayList<>();
        final List<Instant> times = new ArrayList<>();
        Duration period;

        @Override
        public void every(Duration p) {
            period = p;
        }

        @Override
        public boolean once(PassKind kind, Instant at) {
            kinds.add(kind);
            times.add(at);
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

    private Path root;
    private Path file;
    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
    private final RecordingSchedule schedule = new RecordingSchedule();

    private Agent agent(SqliteRegistry registry, AuditLog audit, String interval) throws Exception {
        root = Files.createDirectories(dir.resolve("data")).toRealPath();
        file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, yaml(interval));
        Config cfg = ConfigLoader.load(file, Map.of());
        return new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit), new AgentMetrics("test"), clock,
                passes -> schedule);
    }

    private String yaml(String interval) {
        return "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: " + interval + "\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 3\n";
    }

    @Test
    void burstOfWatchEventsIsOneEventPassAtOnceThenTheNextWaitsTheCoalesceWindow() throws Exception {
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = agent(registry, audit, "1h")) {
            Instant now = clock.instant();
            agent.dirty(root.toString(), root.resolve("a"));
            agent.dirty(root.toString(), root.resolve("a"));
            agent.dirty(root.toString(), root.resolve("b"));
            assertThat(schedule.kinds).containsExactly(PassKind.EVENT);
            assertThat(schedule.times).containsExactly(now);

            agent.run(PassKind.EVENT);
            agent.dirty(root.toString(), root.resolve("a"));
            assertThat(schedule.kinds).containsExactly(PassKind.EVENT, PassKind.EVENT);
            Instant next = schedule.times.get(1);
            assertThat(Duration.between(now, next)).isBetween(WatchEvents.COALESCE_MIN, WatchEvents.COALESCE);
        }
    }

    @Test
    void reloadRequestsCoalesceAndTheReloadPassAppliesTheEditedFile() throws Exception {
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = agent(registry, audit, "1h")) {
            agent.run(PassKind.STARTUP);
            Files.writeString(file, yaml("2h"));
            agent.requestReload(ReloadReason.FILE_CHANGED);
            agent.requestReload(ReloadReason.SIGHUP);
            assertThat(schedule.kinds).containsExactly(PassKind.RELOAD);
            assertThat(schedule.times).containsExactly(clock.instant().plus(Agent.RELOAD_COALESCE));

            agent.run(PassKind.RELOAD);
            assertThat(agent.config().agent().reconcileInterval()).isEqualTo(Duration.ofHours(2));
            assertThat(schedule.period).as("the periodic pass follows the new interval").isEqualTo(Duration.ofHours(2));
            assertThat(agent.lastReloadSuccessful()).isTrue();

            // Taken: the next request is a reload of its own.
            agent.requestReload(ReloadReason.SIGHUP);
            assertThat(schedule.kinds).containsExactly(PassKind.RELOAD, PassKind.RELOAD);
        }
    }

    @Test
    void checkpointStillSettlingGetsASettlePassAtItsVerdictTime() throws Exception {
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = agent(registry, audit, "1h")) {
            Instant modified = clock.instant().minusSeconds(4);
            TreeBuilder.lightningCkpt(root.resolve("a/epoch=1-step=10.ckpt"), 1, 10, true, modified);

            agent.run(PassKind.STARTUP);

            assertThat(schedule.kinds).containsExactly(PassKind.SETTLE);
            assertThat(schedule.times).containsExactly(modified.plusSeconds(10).plusMillis(50));
        }
    }
}
