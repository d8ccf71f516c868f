package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckptwarden.export.CheckpointJson;
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

/**
 * A root configured through a symbolic link ({@code /data -> /mnt/nvme0/data}, or a checkout whose
 * {@code ../shared} is a link): every command reports checkpoints under the root as the user spelled
 * it, and deletion still goes through the real directory it leads to (issue 15).
 */
class SymlinkedRootTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path dir;

    private Path real;
    private Path link;
    private Path configFile;
    private final List<String> names = new ArrayList<>();

    @BeforeEach
    void tree() throws IOException {
        real = Files.createDirectories(dir.resolve("mnt/nvme0/data")).toRealPath();
        link = Files.createSymbolicLink(dir.toRealPath().resolve("data"), real);
        for (int step = 100; step <= 300; step += 100) {
            String name = "epoch=" + step / 100 + "-step=" + step + ".ckpt";
            TreeBuilder.lightningCkpt(real.resolve("run/" + name), step / 100, step, true, T0.plusSeconds(step));
            names.add(name);
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
                """.formatted(dir.resolve("state"), link));
    }

    private CliRun run(String command, String... args) {
        return CliRun.withConfig(configFile, command, args);
    }

    @Test
    void scanReportsPathsUnderTheRootAsConfiguredNotItsRealPath() throws IOException {
        CliRun scan = run("scan", "--json");

        assertThat(scan.code()).as(scan.toString()).isZero();
        List<String> paths = new ArrayList<>();
        CheckpointJson.MAPPER.readTree(scan.out()).get("checkpoints").forEach(c -> paths.add(c.get("path").asText()));
        assertThat(paths).containsExactlyInAnyOrder(names.stream().map(n -> link.resolve("run/" + n).toString())
                .toArray(String[]::new));
    }

    @Test
    void inspectOfTheRealPathAnswersAsScanDoes() throws IOException {
        run("scan");

        CliRun inspect = run("inspect", real.resolve("run/" + names.get(0)).toString(), "--json");

        assertThat(inspect.code()).as(inspect.toString()).isZero();
        JsonNode c = CheckpointJson.MAPPER.readTree(inspect.out());
        assertThat(c.get("path").asText()).isEqualTo(link.resolve("run/" + names.get(0)).toString());
        assertThat(c.get("run").asText()).isEqualTo("run");
    }

    @Test
    void resolveAndEnforceWorkThroughTheLinkAndPinByRealPathHolds() {
        run("scan");
        CliRun pin = run("pin", real.resolve("run/" + names.get(0)).toString());
        assertThat(pin.code()).as(pin.toString()).isZero();

        CliRun enforce = run("enforce");

        assertThat(enforce.code()).as(enforce.toString()).isZero();
        assertThat(real.resolve("run/" + names.get(0))).as("pinned through its real path").exists();
        assertThat(real.resolve("run/" + names.get(1))).as("evicted by keep_last 1").doesNotExist();
        assertThat(real.resolve("run/" + names.get(2))).exists();
        assertThat(link).isSymbolicLink();
        CliRun resolve = run("resolve", "--run", "run", "latest");
        assertThat(resolve.out().strip()).isEqualTo(link.resolve("run/" + names.get(2)).toString());
    }
}
