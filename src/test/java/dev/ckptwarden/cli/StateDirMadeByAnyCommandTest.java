package dev.ckptwarden.cli;

import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whichever command first makes {@code state_dir} ({@code scan}, {@code ls}, {@code pin} open the registry
 * before any {@code run}), it makes it private ({@code 0700}), as {@code run} and {@code enforce} require: a
 * {@code state_dir} made under a group-writable umask ({@code 002}, common with per-user groups) would
 * otherwise refuse every later start.
 */
class StateDirMadeByAnyCommandTest {
    @TempDir
    Path dir;

    @Test
    void aStateDirFirstMadeByScanUnderUmask002IsAcceptedByEnforce() throws Exception {
        Path root = Files.createDirectories(dir.resolve("ckpt")).toRealPath();
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Instant.parse("2026-01-01T12:00:00Z"));
        Path state = dir.resolve("state");
        Path config = Files.writeString(dir.resolve("ckpt-warden.yaml"), """
                agent:
                  state_dir: %s
                roots:
                  - path: %s
                """.formatted(state, root));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process scan = new ProcessBuilder(List.of("sh", "-c", "umask 002 && exec \"$@\"", "sh", java,
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "scan",
                "--config", config.toString())).redirectErrorStream(true).redirectOutput(dir.resolve("scan.out").toFile())
                .start();
        assertThat(scan.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(scan.exitValue()).as(Files.readString(dir.resolve("scan.out"))).isZero();

        CliRun enforce = CliRun.withConfig(config, "enforce");
        assertThat(enforce.code()).as(enforce.toString()).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state))).isEqualTo("rwx------");
    }
}
