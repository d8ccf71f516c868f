package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: pins are the user's explicit instruction and must survive the loss of {@code registry.db}
 * (truncated, deleted, replaced); an empty registry beside a state directory with history deletes
 * nothing until the user starts fresh. Issue 15: pin/unpin that cannot do what was asked exit 1.
 * Real files, real SQLite, the command line as a user types it.
 */
class PinsSurviveRegistryLossTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path dir;

    private Path root;
    private Path state;
    private Path configFile;
    private final List<Path> steps = new ArrayList<>();

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
                      keep_last: 1
                    action: delete
                """.formatted(state, root));
    }

    private CliRun run(String command, String... args) {
        return CliRun.withConfig(configFile, command, args);
    }

    private Path pinnedOldest() {
        assertThat(run("scan").code()).isZero();
        CliRun pin = run("pin", steps.get(0).toString(), "--reason", "paper figure 3");
        assertThat(pin.code()).as(pin.toString()).isZero();
        return steps.get(0);
    }

    private Path database() {
        return state.resolve(SqliteRegistry.FILE_NAME);
    }

    private void deleteDatabase() throws IOException {
        Files.delete(database());
        Files.deleteIfExists(state.resolve(SqliteRegistry.FILE_NAME + "-wal"));
        Files.deleteIfExists(state.resolve(SqliteRegistry.FILE_NAME + "-shm"));
    }

    /** Enforce with keep_last 1 would evict the pinned oldest checkpoint: it must stay, and stay pinned. */
    private void assertPinnedOldestSurvivesEnforce(Path pinned) throws IOException {
        CliRun enforce = run("enforce");
        assertThat(enforce.code()).as(enforce.toString()).isZero();

        assertThat(pinned).exists();
        assertThat(steps.get(1)).doesNotExist();
        assertThat(steps.get(2)).doesNotExist();
        assertThat(steps.get(3)).exists();
        JsonNode ls = CheckpointJson.MAPPER.readTree(run("ls", "--json").out());
        JsonNode row = null;
        for (JsonNode c : ls.get("checkpoints")) {
            if (c.get("path").asText().equals(pinned.toString())) {
                row = c;
            }
        }
        assertThat(row).as("ls lists the pinned checkpoint").isNotNull();
        assertThat(row.get("pinned").asBoolean()).isTrue();
        assertThat(run("plan").out()).contains("protected: pinned (paper figure 3)");
    }

    @Test
    void pinSurvivesRegistryTruncatedToZeroBytes() throws IOException {
        Path pinned = pinnedOldest();
        try (FileChannel db = FileChannel.open(database(), StandardOpenOption.WRITE)) {
            db.truncate(0);
        }

        assertPinnedOldestSurvivesEnforce(pinned);
    }

    @Test
    void pinSurvivesRegistryDeletedWithItsWalAndShm() throws IOException {
        Path pinned = pinnedOldest();
        deleteDatabase();

        assertPinnedOldestSurvivesEnforce(pinned);
    }

    @Test
    void pinSurvivesRegistryReplacedByAFreshEmptyDatabase() throws IOException {
        Path pinned = pinnedOldest();
        deleteDatabase();
        SqliteRegistry.open(state).close();

        assertPinnedOldestSurvivesEnforce(pinned);
    }

    @Test
    void pinSurvivesRegistryReplacedByAnOlderCopyWithoutThePin() throws IOException {
        assertThat(run("scan").code()).isZero();
        Path backup = dir.resolve("registry-before-pin.db");
        Files.copy(database(), backup);
        Path pinned = pinnedOldest();
        Files.copy(backup, database(), StandardCopyOption.REPLACE_EXISTING);

        assertPinnedOldestSurvivesEnforce(pinned);
    }

    @Test
    void pinSurvivesRegistryLossAfterEarlierEvictionsWereAudited() throws IOException {
        Path pinned = pinnedOldest();
        // Two passes' worth of history: the audit log is not empty when the registry goes.
        Files.delete(steps.get(3));
        assertThat(run("enforce").code()).isZero();
        assertThat(state.resolve(AuditLog.FILE_NAME)).isNotEmptyFile();
        steps.set(3, TreeBuilder.lightningCkpt(steps.get(3), 4, 400, true, T0.plusSeconds(400)));
        deleteDatabase();

        CliRun enforce = run("enforce");

        assertThat(enforce.code()).as(enforce.toString()).isZero();
        assertThat(pinned).exists();
        assertThat(steps.get(3)).exists();
    }

    @Test
    void emptyRegistryBesideAuditHistoryWithoutPinJournalDeletesNothingUntilFreshRegistry() throws IOException {
        Path pinned = pinnedOldest();
        Files.delete(steps.get(3));
        assertThat(run("enforce").code()).isZero();
        steps.set(3, TreeBuilder.lightningCkpt(steps.get(3), 4, 400, true, T0.plusSeconds(400)));
        // Everything the pins were kept in is gone; only the audit log says this state directory was used.
        deleteDatabase();
        Files.deleteIfExists(state.resolve("pins.jsonl"));

        CliRun held = run("enforce");

        assertThat(held.code()).as(held.toString()).isEqualTo(ExitCode.RUNTIME);
        assertThat(held.err()).contains("deleting nothing").contains("--fresh-registry");
        assertThat(pinned).exists();
        assertThat(steps.get(2)).exists();
        // Every command that opens the registry says so, plan and a dry run too (they touch nothing themselves).
        assertThat(run("plan").err()).contains("deleting nothing");
        assertThat(run("enforce", "--dry-run").err()).contains("deleting nothing");
        // The first pass registered everything again: the registry is no longer empty, and still nothing goes.
        CliRun stillHeld = run("enforce");
        assertThat(stillHeld.code()).isEqualTo(ExitCode.RUNTIME);
        assertThat(stillHeld.err()).contains("deleting nothing");
        assertThat(pinned).exists();
        assertThat(steps.get(2)).exists();

        // The user pins again what matters, then says to start fresh.
        assertThat(run("pin", pinned.toString()).code()).isZero();
        CliRun fresh = run("enforce", "--fresh-registry");

        assertThat(fresh.code()).as(fresh.toString()).isZero();
        assertThat(pinned).exists();
        assertThat(steps.get(2)).doesNotExist();
        assertThat(steps.get(3)).exists();
    }

    @Test
    void freshRegistryIsDocumentedInEnforceAndRunHelp() {
        assertThat(CliRun.of("help", "enforce").out()).contains("--fresh-registry");
        assertThat(CliRun.of("help", "run").out()).contains("--fresh-registry");
    }

    @Test
    void pinOfADeletedCheckpointExitsOneWithTheReason() {
        assertThat(run("scan").code()).isZero();
        assertThat(run("enforce").code()).isZero();
        assertThat(steps.get(0)).doesNotExist();

        CliRun r = run("pin", steps.get(0).toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).doesNotContain("pinned");
        assertThat(r.err()).contains(steps.get(0).getFileName().toString()).contains("deleted");
    }

    @Test
    void unpinOfACheckpointNeverPinnedExitsOneWithTheReason() {
        assertThat(run("scan").code()).isZero();

        CliRun r = run("unpin", steps.get(0).toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).doesNotContain("unpinned");
        assertThat(r.err()).contains(steps.get(0).getFileName().toString()).contains("not pinned");
    }

    @Test
    void unpinOfADeletedCheckpointExitsOneWithTheReason() {
        assertThat(run("scan").code()).isZero();
        assertThat(run("enforce").code()).isZero();

        CliRun r = run("unpin", steps.get(1).toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("deleted");
    }

    @Test
    void pinOfAnUnknownCheckpointExitsOneWithTheReason() {
        assertThat(run("scan").code()).isZero();

        CliRun r = run("pin", root.resolve("run/never-saved.ckpt").toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("never-saved.ckpt").contains("not a registered checkpoint");
    }
}
