package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.offload.S3TestServer;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.watch.Reconciler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A remote root's checkpoints as users reach them from the command line: {@code ls --json} and
 * {@code resolve} give their {@code s3://} URI, and {@code pin} takes that URI.
 */
class RemoteRootCliTest {
    private static final String ROOT = "s3://" + S3TestServer.BUCKET + "/ckpt";

    @TempDir
    Path dir;

    @Test
    void lsResolveAndPinSpeakTheRemoteUri() throws Exception {
        Path state = dir.resolve("state");
        Path configFile = dir.resolve("ckpt-warden.yaml");
        Files.writeString(configFile, """
                agent:
                  state_dir: %s
                  settle_time: 10s
                roots:
                  - path: %s
                """.formatted(state, ROOT));
        try (S3TestServer s3 = S3TestServer.start()) {
            for (int epoch = 1; epoch <= 2; epoch++) {
                Path f = SampleFiles.torchZip(dir.resolve("e" + epoch + ".ckpt"), epoch, epoch * 10L, true, true);
                s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/run/epoch=" + epoch + "-step=" + epoch * 10
                        + ".ckpt").payload(Files.readAllBytes(f)).build());
            }
            // The scan the agent would do (credentials for the in-process S3 come from the test, not the environment).
            Config cfg = ConfigLoader.load(configFile);
            try (SqliteRegistry registry = SqliteRegistry.open(state)) {
                new Reconciler(registry, new MutableClock(Instant.now().plus(Duration.ofHours(1))), s3::settings)
                        .reconcile(cfg, cfg.roots().get(0));
            }
        }

        CliRun ls = run(configFile, "ls", "--json");
        JsonNode listed = new ObjectMapper().readTree(ls.out());
        List<String> paths = new ArrayList<>();
        listed.get("checkpoints").forEach(c -> paths.add(c.get("path").asText()));
        assertThat(paths).as("%s", ls).containsExactlyInAnyOrder(ROOT + "/run/epoch=1-step=10.ckpt",
                ROOT + "/run/epoch=2-step=20.ckpt");

        CliRun resolve = run(configFile, "resolve", "--run", "run", "latest");
        assertThat(resolve.code()).as("%s", resolve).isZero();
        assertThat(resolve.out()).isEqualTo(ROOT + "/run/epoch=2-step=20.ckpt\n");

        CliRun pin = run(configFile, "pin", ROOT + "/run/epoch=1-step=10.ckpt", "--reason", "paper figure");
        assertThat(pin.code()).as("%s", pin).isZero();
        JsonNode after = new ObjectMapper().readTree(run(configFile, "ls", "--json").out());
        assertThat(after.get("checkpoints")).filteredOn(c -> c.get("pinned").asBoolean())
                .extracting(c -> c.get("path").asText()).containsExactly(ROOT + "/run/epoch=1-step=10.ckpt");
    }

    private static CliRun run(Path configFile, String command, String... args) {
        return CliRun.withConfig(configFile, command, args);
    }
}
