package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.cli.CliRun;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "Which checkpoint is the newest" as a user sees it after something other than the training job touched the
 * run: the checkpoint {@code resolve latest} answers, the one retention protects as newest, and the step the
 * run's gauge reports must be the same save.
 */
class AgentRecencyTruthTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private Path root;
    private Path file;
    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));

    private Config config(int keepLast) throws Exception {
        root = Files.createDirectories(dir.resolve("data")).toRealPath();
        file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: " + keepLast + "\n");
        return ConfigLoader.load(file, Map.of());
    }

    /** The job saves {@code epoch=E-step=S.ckpt}; ten minutes on, the agent has seen it settle. */
    private void save(Agent agent, Path run, int epoch, long step) throws Exception {
        TreeBuilder.lightningCkpt(run.resolve("epoch=" + epoch + "-step=" + step + ".ckpt"), epoch, step, true, clock.instant());
        clock.advance(Duration.ofMinutes(10));
        settle(agent);
    }

    /** One periodic pass now, then another after the settle time so that what was writing is complete. */
    private void settle(Agent agent) {
        agent.run(PassKind.PERIODIC);
        clock.advance(Duration.ofSeconds(30));
        agent.run(PassKind.PERIODIC);
    }

    @Test
    void aCheckpointPutBackByHandWithItsOldTimesIsNotTheNewestAndCostsNoNewerSave() throws Exception {
        Config cfg = config(3);
        Path run = root.resolve("bert");
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"), clock);
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit),
                     new AgentMetrics("test"), clock)) {
            agent.run(PassKind.STARTUP);
            for (int s = 1; s <= 3; s++) {
                save(agent, run, s, s * 100L);
            }
            // The user moves the oldest save away (to look at it, to free space for a moment), and puts it back as
            // cp -p, rsync -a or mv do: same bytes, same modification time.
            Path oldest = run.resolve("epoch=1-step=100.ckpt");
            Path aside = Files.move(oldest, dir.resolve("aside.ckpt"));
            clock.advance(Duration.ofMinutes(5));
            settle(agent);
            assertThat(registry.byPath(oldest.toString()).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
            Files.move(aside, oldest, StandardCopyOption.ATOMIC_MOVE);
            clock.advance(Duration.ofMinutes(5));
            settle(agent);
            assertThat(registry.byPath(oldest.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);

            assertThat(resolveLatest()).as("resolve latest after the put-back").isEqualTo(run.resolve("epoch=3-step=300.ckpt").toString());

            // The job saves again: keep_last 3 now keeps steps 400, 300 and 200 and lets go of the old step 100,
            // not of step 200, a save that was never touched.
            save(agent, run, 4, 400L);
            assertThat(run.resolve("epoch=2-step=200.ckpt")).as("a newer save kept").exists();
            assertThat(oldest).as("the put-back old save is the oldest").doesNotExist();
        }
    }

    @Test
    void aRunRestartedFromStepZeroReportsTheStepOfTheSaveResolveLatestAnswers() throws Exception {
        Config cfg = config(10);
        Path run = root.resolve("bert");
        AgentMetrics metrics = new AgentMetrics("test");
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"), clock);
             AuditLog audit = AuditLog.open(dir.resolve("state"));
             Agent agent = new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit), metrics, clock)) {
            agent.run(PassKind.STARTUP);
            for (int s = 1; s <= 3; s++) {
                save(agent, run, s, s * 1000L);
            }
            // The job is started again from scratch in the same directory (a new seed, a fixed bug).
            save(agent, run, 0, 50L);

            assertThat(resolveLatest()).isEqualTo(run.resolve("epoch=0-step=50.ckpt").toString());
            assertThat(scrape(metrics)).as("the run's progress gauge names the same save")
                    .containsPattern("ckpt_warden_run_latest_step\\{[^}]*run=\"bert\"[^}]*\\} 50\\.0");
        }
    }

    private String resolveLatest() {
        return CliRun.withConfig(file, "resolve", "--run", "bert", "latest").out().trim();
    }

    private static String scrape(AgentMetrics metrics) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape("text/plain", out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
