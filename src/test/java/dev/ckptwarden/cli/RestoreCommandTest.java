package dev.ckptwarden.cli;

import dev.ckptwarden.export.CheckpointJson;

import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code enforce} with {@code action: offload} to a {@code file://} target, then {@code restore}: the
 * command line end to end (a file target needs no credentials from the environment).
 */
class RestoreCommandTest {
    @TempDir
    Path dir;
    Path root;
    Path archive;
    Path configFile;


    @BeforeEach
    void tree() throws IOException {
        root = Files.createDirectories(dir.resolve("ckpt")).toRealPath();
        archive = Files.createDirectories(dir.resolve("archive")).toRealPath();
        for (int e = 0; e < 3; e++) {
            TinyCheckpoints.torchZip(root.resolve("run/epoch=" + e + "-step=" + (e + 1) * 100 + ".ckpt"), e,
                    (long) (e + 1) * 100, true);
        }
        configFile = dir.resolve("ckpt-warden.yaml");
        Files.writeString(configFile, """
                agent:
                  state_dir: %s
                  settle_time: 10s
                roots:
                  - path: %s
                    name: team/ckpt
                    retention:
                      keep_last: 1
                    action: offload
                    offload: {target: "%s", verify: sha256}
                """.formatted(dir.resolve("state"), root, archive.toUri()));
    }

    /** The command line as a user types it, with this test's configuration, through {@link Main#execute}. */
    private CliRun run(String command, String... args) {
        return CliRun.withConfig(configFile, command, args);
    }

    @Test
    void enforceOffloadsAndRestoreBringsBack() throws IOException {
        Path first = root.resolve("run/epoch=0-step=100.ckpt");
        byte[] bytes = Files.readAllBytes(first);

        CliRun enforce = run("enforce");
        assertThat(enforce.code()).as(enforce.toString()).isZero();
        assertThat(first).doesNotExist();
        assertThat(root.resolve("run/epoch=2-step=300.ckpt")).exists();
        Path copy = archive.resolve("team/ckpt/run/epoch=0-step=100.ckpt");
        assertThat(copy).hasBinaryContent(bytes);
        assertThat(archive.resolve("team/ckpt/run/epoch=0-step=100.ckpt.ckpt-warden.json")).exists();

        CliRun restore = run("restore", first.toString());
        assertThat(restore.code()).as(restore.toString()).isZero();
        assertThat(restore.out()).startsWith("restored " + first + " from file://").contains("state complete");
        assertThat(first).hasBinaryContent(bytes);
        assertThat(copy).as("the archive copy stays").exists();

        CliRun again = run("restore", first.toString());
        assertThat(again.code()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(again.err()).contains("is complete, not offloaded");
    }

    @Test
    void aRestoredOldCheckpointDoesNotBecomeTheLatestAResumingJobIsGiven() {
        // Found from outside: restoring epoch 0 to evaluate it made `resolve latest` answer it, and a
        // training job resuming with that answer would have gone back 200 steps.
        Path first = root.resolve("run/epoch=0-step=100.ckpt");
        Path newest = root.resolve("run/epoch=2-step=300.ckpt");
        assertThat(run("enforce").code()).isZero();
        CliRun restore = run("restore", first.toString());
        assertThat(restore.code()).as(restore.toString()).isZero();

        CliRun latest = run("resolve", "--run", "run", "latest");
        assertThat(latest.code()).as(latest.toString()).isZero();
        assertThat(latest.out()).isEqualTo(newest + "\n");
        CliRun plan = run("plan");
        assertThat(plan.out()).containsPattern("epoch=2-step=300\\.ckpt +keep .*protected: newest complete")
                .doesNotContainPattern("epoch=0-step=100\\.ckpt .*newest");
    }

    @Test
    void resolveReturnsARemoteUriOnlyWhenAskedToIncludeOffloaded() {
        assertThat(run("enforce").code()).isZero();

        CliRun local = run("resolve", "--run", "run", "step:100");
        assertThat(local.code()).as("offloaded checkpoints are never resolved by default").isEqualTo(ExitCode.NOT_FOUND);

        CliRun remote = run("resolve", "--run", "run", "step:100", "--include-offloaded");
        assertThat(remote.code()).as(remote.toString()).isZero();
        assertThat(remote.out().strip()).isEqualTo(archive.resolve("team/ckpt/run/epoch=0-step=100.ckpt").toUri().toString());

        // The newest is still local: latest stays a local path even with offloaded ones included.
        CliRun latest = run("resolve", "--run", "run", "latest", "--include-offloaded");
        assertThat(latest.out().strip()).isEqualTo(root.resolve("run/epoch=2-step=300.ckpt").toString());
    }

    @Test
    void restoreJsonIsOneCheckpoint() throws IOException {
        Path first = root.resolve("run/epoch=0-step=100.ckpt");
        assertThat(run("enforce").code()).isZero();
        CliRun restore = run("restore", "--json", first.toString());
        assertThat(restore.code()).as(restore.toString()).isZero();
        var node = CheckpointJson.MAPPER.readTree(restore.out());
        assertThat(node.get("path").asText()).isEqualTo(first.toString());
        assertThat(node.get("state").asText()).isEqualTo("complete");
        assertThat(node.get("restored_from").asText()).endsWith("/team/ckpt/run/epoch=0-step=100.ckpt");
    }

    @Test
    void unknownPathIsNothingFound() {
        CliRun r = run("restore", root.resolve("run/nope.ckpt").toString());
        assertThat(r.code()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(r.err()).contains("not a registered checkpoint");
    }

    @Test
    void tamperedArchiveIsNotRestored() throws IOException {
        Path first = root.resolve("run/epoch=0-step=100.ckpt");
        assertThat(run("enforce").code()).isZero();
        Path copy = archive.resolve("team/ckpt/run/epoch=0-step=100.ckpt");
        byte[] b = Files.readAllBytes(copy);
        b[100] ^= 1;
        Files.write(copy, b);

        CliRun restore = run("restore", first.toString());
        assertThat(restore.code()).isEqualTo(ExitCode.RUNTIME);
        assertThat(restore.err()).contains("sha256").contains("not restored");
        assertThat(first).doesNotExist();
        try (var s = Files.list(root.resolve(".ckpt-warden-trash"))) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsOnly(".lock");
        }
        CliRun ls = run("ls", "--all", "--json");
        assertThat(ls.out()).contains("\"state\" : \"offloaded\"");
    }
}
