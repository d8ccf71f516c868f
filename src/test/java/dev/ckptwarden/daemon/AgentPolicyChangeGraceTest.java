package dev.ckptwarden.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckptwarden.cli.Main;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.PolicyChangeFile;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: uncommenting {@code retention:} on a running agent deleted five checkpoints within half a
 * second, before {@code plan} could show what the edit would do. Evictions a reload brings now wait
 * {@code agent.policy_change_grace}; pressure does not wait. Driven directly with a clock moved by hand.
 */
class AgentPolicyChangeGraceTest {
    /**
     * The agent's clock runs a day ahead of the real one: the scheduler fires its triggers (the reload a
     * file change requests, periodic and settle passes) by real time at instants taken from this clock,
     * so none fires during the test and every pass is the test's own; and {@code plan}, on the system
     * clock, still sees the grace as running.
     */
    private final Instant start = Instant.now().plus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS);
    private final Instant saved = start.minus(Duration.ofHours(1));

    @TempDir
    Path dir;
    private Path root;
    private Path file;
    private Path step10;
    private Path step20;
    private Path step30;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeEach
    void threeSettledCheckpoints() throws Exception {
        root = Files.createDirectories(dir.resolve("ckpt"));
        step10 = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, saved);
        step20 = TreeBuilder.lightningCkpt(root.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, saved.plusSeconds(60));
        step30 = TreeBuilder.lightningCkpt(root.resolve("run/epoch=3-step=30.ckpt"), 3, 30, true, saved.plusSeconds(120));
        file = dir.resolve("ckpt-warden.yaml");
    }

    @AfterEach
    void closeRegistriesAndAuditLogs() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
    }

    /** An agent's registry and enforcer in the state directory, as `ckpt-warden run` opens them. */
    private Agent newAgent(MutableClock clock) throws Exception {
        SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
        opened.add(registry);
        AuditLog audit = AuditLog.open(dir.resolve("state"));
        opened.add(audit);
        return new Agent(ConfigLoader.load(file, Map.of()), file, Map.of(), registry, new Enforcer(registry, audit),
                new AgentMetrics("test"), clock);
    }

    private String yaml(String agentExtra, String rootExtra) {
        return "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n  settle_time: 10s\n"
                + "  listen: 127.0.0.1:0\n" + agentExtra + "roots:\n  - path: " + root + "\n" + rootExtra;
    }

    private static final String KEEP_LAST_1 = "    retention:\n      keep_last: 1\n";

    private Agent agent(MutableClock clock) throws Exception {
        Files.writeString(file, yaml("", ""));
        Agent agent = newAgent(clock);
        agent.start();
        return agent;
    }

    /** Edits the file and reloads it, then runs the pass a reload brings. */
    private static void edit(Agent agent, Path file, String yaml) throws Exception {
        Files.writeString(file, yaml);
        assertThat(agent.reload(ReloadReason.SIGHUP)).isTrue();
        agent.run(PassKind.RELOAD);
    }

    @Test
    void retentionAddedToARunningAgentWaitsTheGraceListedByPlanThenEvicts() throws Exception {
        MutableClock clock = new MutableClock(start);
        try (Agent agent = agent(clock)) {
            edit(agent, file, yaml("", KEEP_LAST_1));
            assertThat(step10).exists();
            assertThat(step20).exists();
            assertThat(step30).exists();

            // `plan`, another process, lists them as evict with the time they go.
            JsonNode plan = CheckpointJson.MAPPER.readTree(cli("plan", "--json", "--config", file.toString()));
            Instant due = start.plus(Duration.ofMinutes(5));
            List<String> waiting = new ArrayList<>();
            for (JsonNode d : plan.get("decisions")) {
                if (d.has("not_before")) {
                    assertThat(d.get("action").asText()).isEqualTo("evict");
                    assertThat(Instant.parse(d.get("not_before").asText())).isEqualTo(due);
                    assertThat(d.get("reasons").toString()).contains("policy change grace: evicted at ");
                    waiting.add(d.get("path").asText());
                }
            }
            assertThat(waiting).containsExactlyInAnyOrder(step10.toString(), step20.toString());
            assertThat(cli("plan", "--config", file.toString())).contains("policy change grace: evicted at ");

            clock.advance(Duration.ofMinutes(4));
            agent.run(PassKind.PERIODIC);
            assertThat(step10).exists();
            assertThat(step20).exists();

            clock.advance(Duration.ofMinutes(1));
            agent.run(PassKind.PERIODIC);
            assertThat(step10).doesNotExist();
            assertThat(step20).doesNotExist();
            assertThat(step30).exists();
        }
    }

    @Test
    void revertingTheEditBeforeTheGraceEndsDeletesNothingEver() throws Exception {
        MutableClock clock = new MutableClock(start);
        try (Agent agent = agent(clock)) {
            edit(agent, file, yaml("", KEEP_LAST_1));
            assertThat(dir.resolve("state").resolve(PolicyChangeFile.NAME)).exists();
            clock.advance(Duration.ofMinutes(2));
            edit(agent, file, yaml("", ""));
            assertThat(dir.resolve("state").resolve(PolicyChangeFile.NAME)).doesNotExist();

            clock.advance(Duration.ofHours(1));
            agent.run(PassKind.PERIODIC);
            assertThat(step10).exists();
            assertThat(step20).exists();
            assertThat(step30).exists();
        }
    }

    @Test
    void revertedEditDoesNotLetALaterSameEditSkipTheGrace() throws Exception {
        MutableClock clock = new MutableClock(start);
        try (Agent agent = agent(clock)) {
            edit(agent, file, yaml("", KEEP_LAST_1));
            clock.advance(Duration.ofMinutes(2));
            edit(agent, file, yaml("", ""));
            clock.advance(Duration.ofMinutes(10));
            // The same edit again, long after the first one's time: a fresh grace, not the stale one.
            edit(agent, file, yaml("", KEEP_LAST_1));
            assertThat(step10).exists();
            assertThat(step20).exists();
            clock.advance(Duration.ofMinutes(5));
            agent.run(PassKind.PERIODIC);
            assertThat(step10).doesNotExist();
            assertThat(step20).doesNotExist();
        }
    }

    @Test
    void quotaPressureDuringTheGraceEvictsAtOnceAndOnlyWhatItNeeds() throws Exception {
        MutableClock clock = new MutableClock(start);
        long allowed = Files.size(step20) + Files.size(step30);
        try (Agent agent = agent(clock)) {
            edit(agent, file, yaml("", KEEP_LAST_1 + "    quota:\n      max_bytes: " + allowed + "\n"));
            assertThat(step10).doesNotExist(); // the quota needs its bytes now
            assertThat(step20).exists();       // policy alone: waits the grace
            assertThat(step30).exists();
        }
    }

    @Test
    void zeroGraceEvictsAtOnceAsBefore() throws Exception {
        MutableClock clock = new MutableClock(start);
        try (Agent agent = agent(clock)) {
            edit(agent, file, yaml("  policy_change_grace: 0s\n", KEEP_LAST_1));
            assertThat(step10).doesNotExist();
            assertThat(step20).doesNotExist();
            assertThat(step30).exists();
            assertThat(dir.resolve("state").resolve(PolicyChangeFile.NAME)).doesNotExist();
        }
    }

    @Test
    void restartDuringTheGraceKeepsTheTime() throws Exception {
        MutableClock clock = new MutableClock(start);
        try (Agent agent = agent(clock)) {
            edit(agent, file, yaml("", KEEP_LAST_1));
        }
        clock.advance(Duration.ofMinutes(1));
        try (Agent again = newAgent(clock)) {
            again.start();
            assertThat(step10).exists();
            assertThat(step20).exists();
            clock.advance(Duration.ofMinutes(4));
            again.run(PassKind.PERIODIC);
            assertThat(step10).doesNotExist();
            assertThat(step20).doesNotExist();
        }
    }

    /** One in-process command line; its standard output. */
    private static String cli(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            assertThat(Main.execute(args)).isZero();
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
