package dev.ckptwarden.cli;

import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A command run in a process that goes on (a test, a tool embedding the CLI) leaves none of the threads it
 * started behind: the header-reading threads of every reconciler a command opens are shut down with it.
 */
class CommandsLeaveNoThreadsTest {
    @TempDir
    Path dir;

    private static long inspectThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().equals("ckpt-warden-inspect")).count();
    }

    @Test
    void scanInspectResolveAndEnforceShutDownTheirInspectThreads() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, t);
        }
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 2\n");
        long before = inspectThreads();
        assertThat(CliRun.withConfig(file, "scan").code()).isZero();
        assertThat(CliRun.withConfig(file, "inspect", root.resolve("run/epoch=3-step=30.ckpt").toString()).code()).isZero();
        assertThat(CliRun.withConfig(file, "resolve", "--run", "run", "latest").code()).isZero();
        assertThat(CliRun.withConfig(file, "enforce", "--dry-run").code()).isZero();
        assertThat(inspectThreads()).as("inspect threads left running after four commands").isEqualTo(before);
    }
}
