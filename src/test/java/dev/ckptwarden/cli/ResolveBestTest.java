package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.testing.Corpus;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC "Command line": {@code best} without {@code --metric} uses the root's keep_best, else the best
 * the framework recorded (Lightning's best_model_path, HF's best_model_checkpoint), else the run's
 * only metric; if none, exit 1 listing the run's metrics. {@code plan} names the same best checkpoint.
 * Real Lightning and Hugging Face files from the corpus where they exist.
 */
class ResolveBestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path root;
    @TempDir
    Path work;
    Path config;

    @BeforeEach
    void watchOnlyRootWithoutKeepBest() throws IOException {
        config(null);
    }

    private void config(String keepBest) throws IOException {
        config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n    retention:\n      keep_last: 1\n"
                + (keepBest == null ? "" : "      keep_best: " + keepBest + "\n") + "    action: report\n");
    }

    private CliRun cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add(1, "--config");
        all.add(2, config.toString());
        return CliRun.of(all.toArray(String[]::new));
    }

    /** The plan's reasons for one path. */
    private List<String> planReasons(String run, String path) throws IOException {
        CliRun plan = cli("plan", "--run", run, "--json");
        assertThat(plan.code()).as(plan.toString()).isZero();
        for (JsonNode d : JSON.readTree(plan.out()).get("decisions")) {
            if (d.get("path").asText().equals(path)) {
                List<String> out = new ArrayList<>();
                d.get("reasons").forEach(r -> out.add(r.asText()));
                return out;
            }
        }
        throw new AssertionError(path + " not in the plan:\n" + plan.out());
    }

    private static void copy(Path from, Path to, long ageSeconds) throws IOException {
        Files.createDirectories(to.getParent());
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        to.toFile().setWritable(true);
        Files.setLastModifiedTime(to, FileTime.from(TinyCheckpoints.LONG_AGO.minusSeconds(ageSeconds)));
    }

    /**
     * ko120/DM-Benchmark: names without metrics; last-v1.ckpt (the newest save, step 13160) records
     * ModelCheckpoint(monitor="val/loss") and best_model_path .../epoch_008-v1.ckpt.
     */
    @Test
    void lightningRunWithoutMetricsInNamesUsesTheBestTheModelCheckpointRecorded() throws IOException {
        Path corpus = Corpus.file("lightning/ko120__DM-Benchmark/checkpoints");
        Path run = root.resolve("dm");
        copy(corpus.resolve("epoch_008-v1.ckpt"), run.resolve("epoch_008-v1.ckpt"), 300);
        copy(corpus.resolve("epoch_019.ckpt"), run.resolve("epoch_019.ckpt"), 200);
        copy(corpus.resolve("last-v1.ckpt"), run.resolve("last-v1.ckpt"), 100);
        assertThat(cli("scan").code()).isZero();

        CliRun best = cli("resolve", "--run", "dm", "best");

        assertThat(best.code()).as(best.toString()).isZero();
        assertThat(best.out()).isEqualTo(run.resolve("epoch_008-v1.ckpt") + "\n");
        assertThat(planReasons("dm", run.resolve("epoch_008-v1.ckpt").toString())).anyMatch(r -> r.contains("best"));
    }

    /**
     * PEFT's monteclora run: real trainer_state.json files of checkpoint-230 and -460 (each names
     * itself best_model_checkpoint, by eval_f1), and a later checkpoint-690 whose state still names
     * checkpoint-460 although its eval_loss is lower: the Trainer's choice, not the lowest loss, is best.
     */
    @Test
    void huggingFaceRunUsesBestModelCheckpoint() throws IOException {
        Path run = peftRun();
        assertThat(cli("scan").code()).isZero();

        CliRun best = cli("resolve", "--run", "mrpc", "best");

        assertThat(best.code()).as(best.toString()).isZero();
        assertThat(best.out()).isEqualTo(run.resolve("checkpoint-460") + "\n");
        assertThat(cli("resolve", "--run", "mrpc", "latest").out()).isEqualTo(run.resolve("checkpoint-690") + "\n");
        assertThat(planReasons("mrpc", run.resolve("checkpoint-460").toString()))
                .contains("protected: named best by checkpoint-690");
    }

    @Test
    void aKeepBestMetricTheRunDoesNotCarryIsNamedWithTheMetricsItHas() throws IOException {
        peftRun();
        config("{k: 1, metric: val_loss, mode: min}");
        assertThat(cli("scan").code()).isZero();

        CliRun best = cli("resolve", "--run", "mrpc", "best");

        assertThat(best.code()).as(best.toString()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(best.out()).isEmpty();
        assertThat(best.err().lines()).hasSize(1);
        assertThat(best.err()).contains("val_loss").contains("keep_best").contains("eval_loss").contains("eval_f1");
    }

    private Path peftRun() throws IOException {
        Path corpus = Corpus.file("hf_trainer/huggingface__peft/examples/monteclora_finetuning/monteclora-roberta-mrpc");
        Path run = root.resolve("mrpc");
        long age = 3000;
        for (String ck : List.of("checkpoint-230", "checkpoint-460")) {
            try (Stream<Path> files = Files.list(corpus.resolve(ck))) {
                for (Path f : files.toList()) {
                    copy(f, run.resolve(ck).resolve(f.getFileName().toString()), age);
                }
            }
            // The adapter weights were not in the source snapshot (Git LFS): a real-format stand-in.
            Files.setLastModifiedTime(TinyCheckpoints.safetensors(run.resolve(ck).resolve("adapter_model.safetensors")),
                    FileTime.from(TinyCheckpoints.LONG_AGO.minusSeconds(age)));
            age -= 1000;
        }
        ObjectNode state = (ObjectNode) JSON.readTree(corpus.resolve("checkpoint-460/trainer_state.json").toFile());
        state.put("global_step", 690).put("epoch", 3.0);
        ObjectNode eval = state.withArray("log_history").addObject();
        eval.put("epoch", 3.0).put("eval_f1", 0.88).put("eval_loss", 0.30).put("step", 690);
        Path ck = Files.createDirectories(run.resolve("checkpoint-690"));
        Files.writeString(ck.resolve("trainer_state.json"), JSON.writeValueAsString(state));
        TinyCheckpoints.safetensors(ck.resolve("adapter_model.safetensors"));
        for (String f : List.of("trainer_state.json", "adapter_model.safetensors")) {
            Files.setLastModifiedTime(ck.resolve(f), FileTime.from(TinyCheckpoints.LONG_AGO.minusSeconds(age)));
        }
        return run;
    }

    @Test
    void namesWithOneMetricAreJudgedByIt() throws IOException {
        Path run = root.resolve("acc");
        TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100-val_acc=0.70.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200-val_acc=0.60.ckpt"), 2, 200L, true);
        Path losses = root.resolve("loss");
        TinyCheckpoints.torchZip(losses.resolve("epoch=1-step=100-train_loss=0.70.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(losses.resolve("epoch=2-step=200-train_loss=0.60.ckpt"), 2, 200L, true);
        TinyCheckpoints.torchZip(losses.resolve("epoch=3-step=300-train_loss=0.65.ckpt"), 3, 300L, true);
        assertThat(cli("scan").code()).isZero();

        Path higher = run.resolve("epoch=1-step=100-val_acc=0.70.ckpt");
        assertThat(cli("resolve", "--run", "acc", "best").out()).isEqualTo(higher + "\n");
        Path lower = losses.resolve("epoch=2-step=200-train_loss=0.60.ckpt");
        assertThat(cli("resolve", "--run", "loss", "best").out()).isEqualTo(lower + "\n");
    }

    /** With keep_best, plan protects as best exactly the checkpoint resolve names (one implementation). */
    @Test
    void planProtectsAsBestWhatResolveNames() throws IOException {
        config("{k: 1, metric: val_acc, mode: max}");
        Path run = root.resolve("acc");
        TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100-val_acc=0.70.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200-val_acc=0.70.ckpt"), 2, 200L, true);
        TinyCheckpoints.torchZip(run.resolve("epoch=3-step=300-val_acc=0.60.ckpt"), 3, 300L, true);
        assertThat(cli("scan").code()).isZero();

        String resolved = cli("resolve", "--run", "acc", "best").out().strip();

        // A tie goes to the newer one, in both.
        assertThat(resolved).isEqualTo(run.resolve("epoch=2-step=200-val_acc=0.70.ckpt").toString());
        assertThat(planReasons("acc", resolved)).contains("protected: best val_acc=0.7");
    }

    @Test
    void severalMetricsAndNoKeepBestExitOneListingThem() throws IOException {
        Path run = root.resolve("two");
        TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100-val_loss=0.20-acc=0.70.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200-val_loss=0.30-acc=0.90.ckpt"), 2, 200L, true);
        assertThat(cli("scan").code()).isZero();

        CliRun r = cli("resolve", "--run", "two", "best");

        assertThat(r.code()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).contains("run 'two'").contains("acc, val_loss").contains("--metric");
        CliRun given = cli("resolve", "--run", "two", "best", "--metric", "acc", "--mode", "max");
        assertThat(given.out()).isEqualTo(run.resolve("epoch=2-step=200-val_loss=0.30-acc=0.90.ckpt") + "\n");
    }
}
