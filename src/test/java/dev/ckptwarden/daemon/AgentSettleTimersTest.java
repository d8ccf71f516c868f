package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.RegistryCalls;
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
import java.util.PriorityQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Settle timers are per run directory: a save settling in one run gets its own settle pass at its own verdict
 * time, and that pass reads that run only. The schedule only records; the test fires each settle pass at the
 * instant asked for, moving the injected clock there. What a pass reads is counted at the real registry.
 */
class AgentSettleTimersTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
    private final AgentScheduleTest.RecordingSchedule schedule = new AgentScheduleTest.RecordingSchedule();
    private Path root;

    private Config config() throws Exception {
        root = Files.createDirectories(dir.resolve("data")).toRealPath();
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 5\n");
        return ConfigLoader.load(file, Map.of());
    }

    private List<Instant> settleTimes() {
        List<Instant> out = new ArrayList<>();
        for (int i = 0; i < schedule.kinds.size(); i++) {
            if (schedule.kinds.get(i) == PassKind.SETTLE) {
                out.add(schedule.times.get(i));
            }
        }
        return out;
    }

    @Test
    void aSaveSettlingInOneRunIsLookedAtAloneAndEachRunSettlesOnItsOwnTimer() throws Exception {
        Config cfg = config();
        Instant now = clock.instant();
        for (String run : List.of("a", "b", "c")) {
            TreeBuilder.lightningCkpt(root.resolve(run + "/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        }
        Path inA = TreeBuilder.lightningCkpt(root.resolve("a/epoch=2-step=20.ckpt"), 2, 20, true, now.minusSeconds(4));
        Path inB = TreeBuilder.lightningCkpt(root.resolve("b/epoch=2-step=20.ckpt"), 2, 20, true, now.minusSeconds(1));
        Instant dueA = now.plusSeconds(6).plusMillis(50);
        Instant dueB = now.plusSeconds(9).plusMillis(50);
        try (SqliteRegistry real = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"))) {
            RegistryCalls calls = new RegistryCalls(real);
            try (Agent agent = new Agent(cfg, null, Map.of(), calls.registry(), new Enforcer(calls.registry(), audit),
                    new AgentMetrics("test"), clock, passes -> schedule)) {
                agent.run(PassKind.STARTUP);
                assertThat(settleTimes()).as("one timer per run, each at its own verdict time").containsExactly(dueA, dueB);

                calls.reset();
                clock.set(dueA);
                agent.run(PassKind.SETTLE);
                assertThat(real.byPath(inA.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
                assertThat(real.byPath(inB.toString()).orElseThrow().state()).isEqualTo(CheckpointState.WRITING);
                assertThat(calls.runsListed()).as("run a's timer reads run a only").containsExactly("a");

                calls.reset();
                clock.set(dueB);
                agent.run(PassKind.SETTLE);
                assertThat(real.byPath(inB.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
                assertThat(calls.runsListed()).as("run b's timer reads run b only").containsExactly("b");

                calls.reset();
                agent.run(PassKind.SETTLE);
                assertThat(calls.count("present") + calls.count("list")).as("a timer with nothing due reads nothing")
                        .isZero();
            }
        }
    }

    @Test
    void aSaveInALightningMetricSubdirectoryIsCompletedByItsTimerNotMarkedGone() throws Exception {
        Config cfg = config();
        Instant now = clock.instant();
        TreeBuilder.lightningCkpt(root.resolve("a/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        Path save = TreeBuilder.lightningCkpt(root.resolve("a/epoch=2-step=20-val/loss=0.50.ckpt"), 2, 20, true,
                now.minusSeconds(4));
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, null, Map.of(), registry, new Enforcer(registry, audit), new AgentMetrics("test"),
                     clock, passes -> schedule)) {
            agent.run(PassKind.STARTUP);
            assertThat(registry.byPath(save.toString()).orElseThrow().state()).isEqualTo(CheckpointState.WRITING);

            clock.set(settleTimes().get(0));
            agent.run(PassKind.SETTLE);

            assertThat(registry.byPath(save.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(registry.history(save.toString())).extracting(e -> e.event()).doesNotContain("deleted");
        }
    }

    /**
     * Measures what settling costs with many runs saving a little apart: each settle pass reads one run. (One
     * timer for the whole agent looked at every run still settling each time: 100 runs, 5,050 run reads.)
     */
    @Test
    void hundredRunsSettlingApartCostOneRunReadEach() throws Exception {
        Config cfg = config();
        Instant now = clock.instant();
        int runs = 100;
        for (int r = 0; r < runs; r++) {
            TreeBuilder.lightningCkpt(root.resolve("run" + r + "/epoch=1-step=10.ckpt"), 1, 10, true,
                    now.minusSeconds(9).plusMillis(80L * r));
        }
        try (SqliteRegistry real = SqliteRegistry.open(dir.resolve("state"));
             AuditLog audit = AuditLog.open(dir.resolve("state"))) {
            RegistryCalls calls = new RegistryCalls(real);
            try (Agent agent = new Agent(cfg, null, Map.of(), calls.registry(), new Enforcer(real, audit),
                    new AgentMetrics("test"), clock, passes -> schedule)) {
                agent.run(PassKind.STARTUP);
                // The schedule, played in time order: each settle pass at the instant it was asked for.
                PriorityQueue<Instant> pending = new PriorityQueue<>(settleTimes());
                int seen = schedule.kinds.size();
                int passes = 0;
                long runReads = 0;
                while (!pending.isEmpty()) {
                    Instant at = pending.poll();
                    if (at.isAfter(clock.instant())) {
                        clock.set(at);
                    }
                    calls.reset();
                    agent.run(PassKind.SETTLE);
                    passes++;
                    runReads += calls.runsListed().size();
                    for (int i = seen; i < schedule.kinds.size(); i++) {
                        if (schedule.kinds.get(i) == PassKind.SETTLE) {
                            pending.add(schedule.times.get(i));
                        }
                    }
                    seen = schedule.kinds.size();
                }
                assertThat(real.list(root.toString(), null, false)).hasSize(runs)
                        .allSatisfy(c -> assertThat(c.state()).isEqualTo(CheckpointState.COMPLETE));
                assertThat(runReads).as("run reads over %d settle passes", passes).isEqualTo(runs);
            }
        }
    }
}
