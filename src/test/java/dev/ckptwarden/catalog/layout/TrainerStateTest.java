package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.fuzz.MemoryFileSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What is read from a trainer_state.json, whatever order its keys are written in. */
class TrainerStateTest {
    private static final Path FILE = Path.of("/run/checkpoint-200/trainer_state.json");

    private static TrainerState read(String json) throws IOException {
        return TrainerState.read(MemoryFileSource.of(FILE, json.getBytes(StandardCharsets.UTF_8)), FILE);
    }

    private static final String LOG = "\"log_history\": [{\"loss\": 2.5, \"step\": 100}, {\"eval_loss\": 1.5, \"step\": 100},"
            + " {\"loss\": 2.0, \"step\": 200}, {\"eval_loss\": 1.0, \"eval_runtime\": 3.0, \"step\": 200},"
            + " {\"loss\": 1.9, \"step\": 300}, {\"eval_loss\": 0.5, \"step\": 300}]";

    @Test
    void theLastLossAndEvaluationAtOrBeforeTheStepAreTheMetricsAsTheTrainerSortsItsKeys() throws Exception {
        TrainerState s = read("{\"best_model_checkpoint\": \"out/checkpoint-100\", \"epoch\": 1.75, \"global_step\": 200, "
                + LOG + "}");
        assertThat(s.content().step()).isEqualTo(200);
        assertThat(s.content().epoch()).isEqualTo(1);
        assertThat(s.content().metrics()).isEqualTo(Map.of("loss", 2.0, "eval_loss", 1.0));
        assertThat(s.bestModelCheckpoint()).isEqualTo("out/checkpoint-100");
    }

    @Test
    void aStepWrittenAfterTheLogStillLeavesOutEntriesBeyondIt() throws Exception {
        // A writer that does not sort its keys (a copied or rewritten state): the log comes first.
        TrainerState s = read("{" + LOG + ", \"global_step\": 200, \"epoch\": 1.75}");
        assertThat(s.content().step()).isEqualTo(200);
        assertThat(s.content().metrics()).isEqualTo(Map.of("loss", 2.0, "eval_loss", 1.0));
    }

    @Test
    void valuesThatAreNotTheTrainersObjectGiveNothingAndUnreadableFilesAnError() throws Exception {
        assertThat(read("[1, 2]").content().step()).isNull();
        assertThat(read("null").content().metrics()).isEmpty();
        assertThatThrownBy(() -> read("")).isInstanceOf(IOException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> read("{\"global_step\": 200, \"log_history\": [{\"loss\": 2.0, \"st"))
                .as("a save cut short").isInstanceOf(IOException.class);
    }

    @Test
    void anEntryWithNestedValuesOrThousandsOfNumbersIsReadFieldByFieldWithinABound() throws Exception {
        StringBuilder entry = new StringBuilder("{\"eval_loss\": 0.3, \"step\": 200, \"junk\": [");
        for (int i = 0; i < 100_000; i++) {
            entry.append(i == 0 ? "" : ",").append("[").append(i).append("]");
        }
        entry.append("]");
        for (int i = 0; i < 5_000; i++) {
            entry.append(", \"x").append(i).append("\": ").append(i);
        }
        TrainerState s = read("{\"global_step\": 200, \"log_history\": [" + entry + "}]}");
        assertThat(s.content().metrics()).containsEntry("eval_loss", 0.3);
        assertThat(s.content().metrics().size()).isLessThanOrEqualTo(TrainerState.MAX_ENTRY_FIELDS);
    }
}
