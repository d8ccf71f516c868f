package dev.ckptwarden.cli;

import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: {@code resolve} confirms its answer on disk and reconciles the run directory when the
 * registry is stale or has never seen the run; it never prints a path that is gone and needs no scan.
 */
class ResolveFromDiskTest {
    @TempDir
    Path root;
    @TempDir
    Path work;
    Path config;
    Path run;
    Path older;
    Path newer;

    @BeforeEach
    void twoSaves() throws IOException {
        run = root.resolve("exp1");
        config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n");
        older = TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100.ckpt"), 1, 100L, true);
        newer = TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200.ckpt"), 2, 200L, true);
    }

    private CliRun cli(String command, String... args) {
        return CliRun.withConfig(config, command, args);
    }

    @Test
    void issue14ResolveLatestNeverPrintsAFileRemovedByHandSinceTheLastScan() throws IOException {
        assertThat(cli("scan").code()).isZero();
        assertThat(cli("resolve", "--run", "exp1", "latest").out()).isEqualTo(newer + "\n");

        Files.delete(newer);
        CliRun r = cli("resolve", "--run", "exp1", "latest");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo(older + "\n");
        // What it found out is registered: ls no longer lists the removed file.
        assertThat(cli("ls").out()).doesNotContain("epoch=2-step=200.ckpt");
    }

    @Test
    void issue14ResolveWhenEveryRegisteredCheckpointIsGoneExitsOne() throws IOException {
        assertThat(cli("scan").code()).isZero();
        Files.delete(newer);
        Files.delete(older);
        CliRun r = cli("resolve", "--run", "exp1", "latest");
        assertThat(r.code()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void issue14ResolveNeedsNoEarlierScanOnAFreshStateDirectory() {
        CliRun r = cli("resolve", "--run", "exp1", "latest");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo(newer + "\n");
        CliRun step = cli("resolve", "--run", "exp1", "step:100", "--json");
        assertThat(step.code()).as(step.toString()).isZero();
        assertThat(step.out()).contains("\"path\" : \"" + older + "\"");
    }

    @Test
    void issue14ResolveOfARunThatIsNowhereOnDiskStillExitsOne() {
        CliRun r = cli("resolve", "--run", "nope", "latest");
        assertThat(r.code()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(r.err()).contains("nope");
    }

    /** Issue 14: a job restarted from step 0 in the same directory; its new saves are the latest, not step 4100. */
    @Test
    void issue14ResolveLatestAfterARestartFromStepZeroIsTheFreshestSave() throws IOException {
        Path old = TinyCheckpoints.torchZip(run.resolve("epoch=9-step=4100.ckpt"), 9, 4100L, true);
        Path fresh = TinyCheckpoints.torchZip(run.resolve("epoch=0-step=50.ckpt"), 0, 50L, true);
        Files.setLastModifiedTime(fresh, java.nio.file.attribute.FileTime.from(
                TinyCheckpoints.LONG_AGO.plus(java.time.Duration.ofHours(10))));
        CliRun r = cli("resolve", "--run", "exp1", "latest");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo(fresh + "\n");
        Files.writeString(config, Files.readString(config) + "    retention:\n      keep_last: 1\n");
        CliRun plan = cli("plan");
        assertThat(plan.out()).contains("protected: highest step");
        assertThat(old).exists();
    }

    /** Issue 18: a training job that wants to resume during a registry outage still gets a confirmed answer. */
    @Test
    void issue18ResolveDuringARegistryOutageAnswersFromDiskAndSaysSo() throws IOException {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort(); // nothing listens there once this is closed
        }
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "  registry_url: jdbc:postgresql://127.0.0.1:" + closedPort + "/ckpt?user=warden\n"
                + "roots:\n  - name: main\n    path: " + root + "\n");
        // A save still being written: just changed, and cut short. Never the answer.
        Path writing = run.resolve("epoch=3-step=300.ckpt");
        byte[] whole = Files.readAllBytes(newer);
        Files.write(writing, java.util.Arrays.copyOf(whole, whole.length / 2));

        CliRun r = cli("resolve", "--run", "exp1", "latest");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo(newer + "\n");
        assertThat(r.err()).contains("registry unreachable").contains("answering from the run directory on disk");
        assertThat(work.resolve("state/registry.db")).as("nothing written to a local registry instead").doesNotExist();
    }
}
