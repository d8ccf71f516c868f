package dev.ckptwarden.cli;

import dev.ckptwarden.export.CheckpointJson;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** plan, enforce, pin and unpin from the command line, against a real configuration file and tree. */
class EnforceCommandsTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path dir;

    private Path root;
    private Path state;
    private Path configFile;
    private final List<Path> steps = new ArrayList<>();

    /** Result of one command: exit code, stdout, stderr. */

    @BeforeEach
    void tree() throws IOException {
        root = Files.createDirectories(dir.resolve("ckpt")).toRealPath();
        state = dir.resolve("state");
        for (int step = 100; step <= 400; step += 100) {
            steps.add(TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + step / 100 + "-step=" + step + ".ckpt"),
                    step / 100, step, true, T0.plusSeconds(step)));
        }
        configFile = dir.resolve("ckpt-warden.yaml");
        Files.writeString(configFile, """
                agent:
                  state_dir: %s
                  settle_time: 10s
                roots:
                  - path: %s
                    retention:
                      keep_last: 2
                    action: delete
                """.formatted(state, root));
    }

    /** The command line as a user types it, with this test's configuration, through {@link Main#execute}. */
    private CliRun run(String command, String... args) {
        return CliRun.withConfig(configFile, command, args);
    }

    private CliRun scan() {
        return run("scan");
    }

    /** Issue 15: what the running agent delays after a configuration change, enforce delays too; pressure would not. */
    @Test
    void enforceHonoursTheAgentsPolicyChangeGraceAndPlanShowsIt() throws IOException {
        assertThat(scan().code()).isZero();
        Files.createDirectories(state);
        Instant due = Instant.now().plus(java.time.Duration.ofMinutes(5)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        dev.ckptwarden.enforce.PolicyChangeFile.write(state, java.util.Map.of(steps.get(0).toString(), due), Instant.now());

        JsonNode plan = CheckpointJson.MAPPER.readTree(run("plan", "--json").out());
        JsonNode first = null;
        for (JsonNode d : plan.get("decisions")) {
            if (d.get("path").asText().equals(steps.get(0).toString())) {
                first = d;
            }
        }
        assertThat(first).isNotNull();
        assertThat(first.get("action").asText()).isEqualTo("evict");
        assertThat(first.get("not_before").asText()).isEqualTo(due.toString());

        CliRun enforce = run("enforce");
        assertThat(enforce.code()).as(enforce.toString()).isZero();
        assertThat(steps.get(0)).exists();      // waits the agent's grace
        assertThat(steps.get(1)).doesNotExist(); // not part of the change: evicted as before
    }

    @Test
    void planJsonListsEveryDecisionWithReasonsAndChangesNothing() throws IOException {
        assertThat(scan().code()).isZero();

        CliRun plan = run("plan", "--json");

        assertThat(plan.code()).isZero();
        JsonNode doc = CheckpointJson.MAPPER.readTree(plan.out());
        assertThat(doc.get("decisions")).hasSize(4);
        JsonNode newest = doc.get("decisions").get(0);
        assertThat(newest.get("path").asText()).isEqualTo(steps.get(3).toString());
        assertThat(newest.get("run").asText()).isEqualTo("run");
        assertThat(newest.get("action").asText()).isEqualTo("keep");
        assertThat(newest.get("reasons").toString()).contains("keep_last 1/2");
        JsonNode oldest = doc.get("decisions").get(3);
        assertThat(oldest.get("action").asText()).isEqualTo("evict");
        assertThat(oldest.get("reasons").get(0).asText()).isEqualTo("evictable: kept by no rule");
        assertThat(doc.get("evict_bytes").asLong()).isEqualTo(Files.size(steps.get(0)) + Files.size(steps.get(1)));
        assertThat(steps).allSatisfy(p -> assertThat(p).exists());
    }

    @Test
    void enforceDryRunSaysWhatWouldGoAndTouchesNothing() {
        CliRun r = run("enforce", "--dry-run");

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("epoch=1-step=100.ckpt").contains("dry-run").contains("would remove 2 checkpoint(s)");
        assertThat(steps).allSatisfy(p -> assertThat(p).exists());
        assertThat(root.resolve(".ckpt-warden-trash")).doesNotExist();
        assertThat(state.resolve(AuditLog.FILE_NAME)).doesNotExist();
    }

    @Test
    void enforceRefusesAStateDirectoryOthersCanWriteAndDeletesNothing() throws IOException {
        Files.createDirectories(state);
        Files.setAttribute(state, "unix:mode", 0777);

        CliRun r = run("enforce");

        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(r.err().strip()).doesNotContain("\n").contains(state.toString()).contains("writable by group or others");
        assertThat(steps).allSatisfy(p -> assertThat(p).exists());
    }

    @Test
    void enforceRemovesWhatThePlanEvictsAndAuditsIt() throws IOException {
        CliRun r = run("enforce", "--json");

        assertThat(r.code()).as(r.err()).isZero();
        JsonNode doc = CheckpointJson.MAPPER.readTree(r.out());
        JsonNode evictions = doc.get("roots").get(0).get("evictions");
        assertThat(evictions).hasSize(2);
        assertThat(evictions.get(0).get("outcome").asText()).isEqualTo("ok");
        assertThat(doc.get("roots").get(0).get("freed_bytes").asLong())
                .isEqualTo(evictions.get(0).get("bytes").asLong() + evictions.get(1).get("bytes").asLong());
        assertThat(steps.get(0)).doesNotExist();
        assertThat(steps.get(1)).doesNotExist();
        assertThat(steps.get(2)).exists();
        assertThat(steps.get(3)).exists();
        assertThat(AuditLog.read(state.resolve(AuditLog.FILE_NAME))).extracting(AuditRecord::phase)
                .containsExactly("begin", "begin", "end", "end");
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            assertThat(registry.byPath(steps.get(0).toString()).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
        }
    }

    @Test
    void pinnedCheckpointSurvivesEnforceAndUnpinLetsItGo() {
        scan();
        CliRun pin = run("pin", steps.get(0).toString(), "--reason", "paper figure 3");
        assertThat(pin.code()).isZero();
        assertThat(pin.out()).contains("pinned " + steps.get(0));

        CliRun plan = run("plan");
        assertThat(plan.out()).contains("protected: pinned");
        run("enforce");
        assertThat(steps.get(0)).exists();
        assertThat(steps.get(1)).doesNotExist();

        assertThat(run("unpin", steps.get(0).toString()).code()).isZero();
        run("enforce");
        assertThat(steps.get(0)).doesNotExist();
    }

    @Test
    void pinOfAnUnregisteredPathExitsOne() {
        scan();
        CliRun r = run("pin", root.resolve("run/nope.ckpt").toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("nope.ckpt").contains("not a registered checkpoint");
        assertThat(run("unpin", "relative/nope.ckpt").code()).isEqualTo(1);
    }

    @Test
    void unknownRootIsAUsageError() {
        CliRun r = run("plan", "--root", "elsewhere");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no root named 'elsewhere'").contains(root.toString());
    }
}
