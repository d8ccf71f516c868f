package dev.ckptwarden.catalog.layout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.cli.CliRun;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A long run's {@code trainer_state.json} is large: the Trainer appends one {@code log_history} entry per
 * logging step and writes the whole list into every checkpoint ({@code json.dumps(indent=2, sort_keys=True)}).
 * With {@code logging_steps=1} over ~450,000 steps that is ~69 MB. Such a checkpoint is a checkpoint like any
 * other: complete, its step and last evaluation read, and the one {@code resolve latest} answers.
 */
class LongRunTrainerStateTest {
    @TempDir
    Path dir;

    /** Writes a trainer_state.json as the Trainer does for a run logging every step and evaluating every 1,000. */
    private static long writeTrainerState(Path file, long globalStep) throws Exception {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("{\n  \"best_metric\": null,\n  \"best_model_checkpoint\": null,\n  \"epoch\": 2.0,\n"
                    + "  \"eval_steps\": 1000,\n  \"global_step\": " + globalStep + ",\n  \"is_hyper_param_search\": false,\n"
                    + "  \"is_local_process_zero\": true,\n  \"is_world_process_zero\": true,\n  \"log_history\": [\n");
            StringBuilder b = new StringBuilder(256);
            for (long s = 1; s <= globalStep; s++) {
                b.setLength(0);
                if (s > 1) {
                    b.append(",\n");
                }
                // Plain appends, not String.format: 450,000 entries are written in well under a second.
                b.append("    {\n      \"epoch\": ").append(s * 2.0 / globalStep)
                        .append(",\n      \"grad_norm\": ").append(1.0 + (s % 97) / 100.0)
                        .append(",\n      \"learning_rate\": ").append(5e-5 * (1 - (double) s / globalStep))
                        .append(",\n      \"loss\": ").append(3.0 - s * 1e-6)
                        .append(",\n      \"step\": ").append(s).append("\n    }");
                if (s % 1000 == 0) {
                    b.append(",\n    {\n      \"epoch\": ").append(s * 2.0 / globalStep)
                            .append(",\n      \"eval_loss\": ").append(2.0 - s * 1e-6)
                            .append(",\n      \"eval_runtime\": 12.5,\n      \"step\": ").append(s).append("\n    }");
                }
                w.append(b);
            }
            w.write("\n  ],\n  \"logging_steps\": 1,\n  \"max_steps\": " + globalStep + ",\n  \"num_train_epochs\": 2,\n"
                    + "  \"save_steps\": 1000,\n  \"total_flos\": 1.2e+18,\n  \"train_batch_size\": 8,\n  \"trial_name\": null,\n"
                    + "  \"trial_params\": null\n}\n");
        }
        return Files.size(file);
    }

    @Test
    void aCheckpointOfALongRunWhoseTrainerStateIsAbove64MiBIsCompleteAndResolved() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        Path run = root.resolve("llama-pretrain");
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        TreeBuilder.hfCheckpoint(run, 449_000, true, true, t);
        Path last = TreeBuilder.hfCheckpoint(run, 450_000, true, false, t.plusSeconds(600));
        long bytes = writeTrainerState(last.resolve("trainer_state.json"), 450_000);
        TreeBuilder.touch(last.resolve("trainer_state.json"), t.plusSeconds(600));
        TreeBuilder.touch(last, t.plusSeconds(600));
        assertThat(bytes).as("a long run's trainer_state.json").isGreaterThan(64L << 20);

        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\nroots:\n  - path: " + root + "\n");
        CliRun scan = CliRun.withConfig(file, "scan");
        assertThat(scan.code()).as(scan.out() + scan.err()).isZero();

        JsonNode ls = new ObjectMapper().readTree(CliRun.withConfig(file, "ls", "--json").out());
        JsonNode found = null;
        for (JsonNode c : ls.isArray() ? ls : ls.path("checkpoints")) {
            if (c.path("path").asText().equals(last.toString())) {
                found = c;
            }
        }
        assertThat(found).as("listed: " + ls).isNotNull();
        assertThat(found.path("state").asText()).as(found.toString()).isEqualTo("complete");
        assertThat(found.path("step").asLong()).isEqualTo(450_000);
        assertThat(found.path("metrics").path("eval_loss").asDouble()).isEqualTo(2.0 - 450_000 * 1e-6, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(CliRun.withConfig(file, "resolve", "--run", "llama-pretrain", "latest").out().trim())
                .isEqualTo(last.toString());
    }
}
