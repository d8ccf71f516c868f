package dev.ckptwarden.cli;

import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Inputs at the edges of the command line (issue 14): a port already in use makes {@code run} exit 3
 * (so systemd's {@code Restart=on-failure} restarts it), a configuration nested a thousand levels deep
 * and a step number too large for any checkpoint are bad usage (2) with one clear line, never a
 * runtime failure.
 */
class EdgeInputsCliTest {
    @TempDir
    Path dir;

    private Path config(String listen) throws IOException {
        Path root = Files.createDirectories(dir.resolve("root"));
        return Files.writeString(dir.resolve("ckpt-warden.yaml"), "agent:\n  state_dir: " + dir.resolve("state")
                + "\n  listen: " + listen + "\n  reconcile_interval: 1h\nroots:\n  - path: " + root + "\n");
    }

    @Test
    void runExitsThreeWhenItsPortIsInUse() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path cfg = config("127.0.0.1:" + taken.getLocalPort());
            // A real process: the exit code systemd sees is what System.exit and the shutdown hooks leave.
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--config", cfg.toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("run still running with its port taken:\n%s", out).isTrue();

            assertThat(p.exitValue()).as(out).isEqualTo(3);
            assertThat(out).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort() + " (agent.listen)");
        }
    }

    @Test
    void checkConfigOfAThousandLevelsOfNestingIsBadUsageWithTheLimit() throws IOException {
        Path file = dir.resolve("deep.yaml");
        Files.writeString(file, "roots:\n  - path: /a\n    name: " + "{a: ".repeat(1000) + "1" + "}".repeat(1000) + "\n");

        CliRun r = CliRun.of("check-config", file.toString());

        assertThat(r.code()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).as(r.toString()).contains(file + ":3:").contains("nested deeper than")
                .doesNotContain("StackOverflowError").doesNotContain("\tat ");
    }

    @Test
    void resolveOfAStepTooLargeForAnyCheckpointIsBadUsage() throws IOException {
        Path cfg = config("127.0.0.1:0");
        TinyCheckpoints.torchZip(dir.resolve("root/exp/epoch=1-step=100.ckpt"), 1, 100L, true);

        CliRun empty = CliRun.of("resolve", "--config", cfg.toString(), "--run", "nothing-here", "step:99999999999999999999");
        assertThat(empty.code()).as(empty.toString()).isEqualTo(2);
        assertThat(empty.err()).contains("step:99999999999999999999").doesNotContain("NumberFormatException");

        assertThat(CliRun.of("scan", "--config", cfg.toString()).code()).isZero();
        for (String selector : List.of("step:99999999999999999999", "epoch:99999999999", "step_99999999999999999999")) {
            CliRun r = CliRun.of("resolve", "--config", cfg.toString(), "--run", "exp", selector);
            assertThat(r.code()).as(r.toString()).isEqualTo(2);
            assertThat(r.err()).contains(selector).doesNotContain("NumberFormatException");
        }
    }
}
