package dev.ckptwarden.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.ckptwarden.catalog.CheckpointState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.ckptwarden.registry.Checkpoints.complete;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RegistryExportTest {

    @TempDir
    Path tmp;

    /** A default ObjectMapper refuses non-standard JSON such as bare NaN, like most parsers. */
    private final ObjectMapper strict = new ObjectMapper();
    private SqliteRegistry registry;

    @BeforeEach
    void fill() {
        registry = SqliteRegistry.open(tmp.resolve("state"));
        Instant added = Instant.parse("2024-01-09T10:00:00.987654321Z");
        Registered best = Checkpoints.withMetrics(
                Checkpoints.withOrdering(complete("/data/ckpt", "run1", "epoch=0-step=100.ckpt", 100L), 0, 100L, added),
                Map.of("val_loss", 0.5, "train_loss", Double.NaN)).withHistory(added, added);
        Registered older = Checkpoints.withOrdering(complete("/data/ckpt", "run1", "epoch=1-step=200.ckpt", 200L),
                1, 200L, added);
        Registered atRoot = Checkpoints.withOrdering(complete("/data/ckpt", ".", "model.safetensors", null),
                null, null, added);
        Registered hf = Checkpoints.withMetrics(complete("/scratch", "a/b", "checkpoint-500", 500L),
                Map.of("eval/loss", Double.POSITIVE_INFINITY, "grad_norm", Double.NEGATIVE_INFINITY));
        registry.upsert(List.of(older, hf, best, atRoot));
        registry.markGone(List.of(older.key()), CheckpointState.DELETED, added.plusSeconds(60), "policy");
    }

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void exportHasTheContractShapeWithHistoryAndReadableNonFiniteMetrics() throws IOException {
        Path file = tmp.resolve(RegistryExport.FILE_NAME);

        new RegistryExport(registry).writeTo(file);

        JsonNode expected = strict.readTree("""
                {"models": {
                  "/data/ckpt": {
                    "model.safetensors": {"path": "/data/ckpt/model.safetensors", "added": "2024-01-09T10:00:00",
                      "step": null, "epoch": null, "metrics": {}, "bytes": 1000, "state": "complete"},
                    "run1/epoch=0-step=100.ckpt": {"path": "/data/ckpt/run1/epoch=0-step=100.ckpt",
                      "added": "2024-01-09T10:00:00", "step": 100, "epoch": 0,
                      "metrics": {"train_loss": "NaN", "val_loss": 0.5}, "bytes": 1000, "state": "complete"},
                    "run1/epoch=1-step=200.ckpt": {"path": "/data/ckpt/run1/epoch=1-step=200.ckpt",
                      "added": "2024-01-09T10:00:00", "step": 200, "epoch": 1, "metrics": {}, "bytes": 1000,
                      "state": "deleted"}
                  },
                  "/scratch": {
                    "a/b/checkpoint-500": {"path": "/scratch/a/b/checkpoint-500", "added": "2024-01-09T10:00:00",
                      "step": 500, "epoch": null, "metrics": {"eval/loss": "Infinity", "grad_norm": "-Infinity"},
                      "bytes": 1000, "state": "complete"}
                  }
                }}""");
        JsonNode written = strict.readTree(file.toFile());
        assertThat(written).isEqualTo(expected);
        List<String> keys = new ArrayList<>();
        written.get("models").get("/data/ckpt").fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactly("model.safetensors", "run1/epoch=0-step=100.ckpt", "run1/epoch=1-step=200.ckpt");
        assertThat(Files.readString(file)).endsWith("}\n");
    }

    @Test
    void theSameRegistryAlwaysGivesTheSameBytesWhateverTheInputOrder() throws IOException {
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        ByteArrayOutputStream second = new ByteArrayOutputStream();
        new RegistryExport(registry).writeTo(first);
        new RegistryExport(registry).writeTo(second);
        List<Registered> shuffled = new ArrayList<>(registry.list(null, null, true));
        Collections.shuffle(shuffled, new Random(3));

        assertThat(first.toByteArray()).isEqualTo(second.toByteArray());
        assertThat(strict.writeValueAsString(RegistryExport.document(shuffled)))
                .isEqualTo(strict.writeValueAsString(new RegistryExport(registry).document()));
        assertThat(first.toString(StandardCharsets.UTF_8)).doesNotContain("NaN,").doesNotContain(": NaN");
    }

    @Test
    void aCheckpointOfTheRootItselfIsKeyedByItsNameAlone() {
        assertThat(RegistryExport.key(complete("r", ".", "model.safetensors", null))).isEqualTo("model.safetensors");
        assertThat(RegistryExport.key(complete("r", "a/b", "epoch=1-val/loss=0.12.ckpt", null)))
                .isEqualTo("a/b/epoch=1-val/loss=0.12.ckpt");
    }

    @Test
    void writingReplacesAnOldExportAndLeavesNoTemporaryFile() throws IOException {
        Path file = tmp.resolve("out/registry.json");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "old");

        new RegistryExport(registry).writeTo(file);

        assertThat(strict.readTree(file.toFile()).get("models").size()).isEqualTo(2);
        try (var listing = Files.list(file.getParent())) {
            assertThat(listing).containsExactly(file);
        }
    }

    @Test
    void anUnwritableTargetIsReportedWithItsPath() {
        Path file = tmp.resolve("missing-dir/registry.json");

        assertThatThrownBy(() -> new RegistryExport(registry).writeTo(file))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("cannot write registry export " + file);
    }
}
