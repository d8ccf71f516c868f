package dev.ckptwarden.testing;

import dev.ckptwarden.cli.SampleFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

/** Writes small but format-valid checkpoints for tests, with chosen modification times. */
public final class TreeBuilder {
    private TreeBuilder() {
    }

    /** A Lightning-like torch zip whose header holds epoch, global_step and (optionally) optimizer_states. */
    public static Path lightningCkpt(Path file, int epoch, long step, boolean optimizer, Instant mtime) throws IOException {
        SampleFiles.torchZip(file, epoch, step, true, optimizer);
        return touch(file, mtime);
    }

    public static Path safetensors(Path file, Instant mtime) throws IOException {
        SampleFiles.safetensors(file);
        return touch(file, mtime);
    }

    /** A Hugging Face Trainer checkpoint-N directory. */
    public static Path hfCheckpoint(Path runDir, long step, boolean optimizer, boolean trainerState, Instant mtime) throws IOException {
        Path dir = Files.createDirectories(runDir.resolve("checkpoint-" + step));
        safetensors(dir.resolve("model.safetensors"), mtime);
        if (optimizer) {
            SampleFiles.torchZip(dir.resolve("optimizer.pt"), null, null, false, true);
            touch(dir.resolve("optimizer.pt"), mtime);
        }
        if (trainerState) {
            Files.writeString(dir.resolve("trainer_state.json"), "{\"global_step\": " + step + ", \"epoch\": 1.5,"
                    + " \"log_history\": [{\"eval_loss\": 0.25, \"step\": " + step + "}]}");
            touch(dir.resolve("trainer_state.json"), mtime);
        }
        return touch(dir, mtime);
    }

    /**
     * A DeepSpeed tag directory as {@code engine.save_checkpoint} writes it for ZeRO stage 1/2 (or 3 with
     * {@code zero3}): per model-parallel rank {@code mp_rank_XX_model_states.pt} (ZeRO-3: one
     * {@code zero_pp_rank_D_mp_rank_XX_model_states.pt} per data-parallel rank) whose header records
     * {@code dp_world_size}, {@code mp_world_size} and {@code ds_version}, and one
     * {@code zero_pp_rank_D_mp_rank_XX_optim_states.pt} per rank ({@code bf16_} prefixed under ZeRO-3 bf16).
     * Files named in {@code skip} are not written (a rank that died or is still writing).
     */
    public static Path deepSpeedTag(Path tag, long step, int dpWorldSize, int mpWorldSize, boolean zero3, Instant mtime,
                                    String... skip) throws IOException {
        Files.createDirectories(tag);
        java.util.Set<String> skipped = java.util.Set.of(skip);
        java.util.Map<String, Object> config = new java.util.LinkedHashMap<>();
        config.put("train_micro_batch_size_per_gpu", 4);
        config.put("zero_optimization", java.util.Map.of("stage", zero3 ? 3 : 2));
        config.put("bf16", java.util.Map.of("enabled", zero3));
        for (int mp = 0; mp < mpWorldSize; mp++) {
            for (int dp = 0; dp < (zero3 ? dpWorldSize : 1); dp++) {
                String name = (zero3 ? "zero_pp_rank_" + dp + "_" : "") + String.format("mp_rank_%02d_model_states.pt", mp);
                if (skipped.contains(name)) {
                    continue;
                }
                java.util.Map<String, Object> header = new java.util.LinkedHashMap<>();
                header.put("module", java.util.Map.of());
                header.put("optimizer", null); // ZeRO saves optimizer state in the *_optim_states.pt files
                header.put("lr_scheduler", null);
                header.put("sparse_tensor_module_names", java.util.Map.of());
                header.put("skipped_steps", 0);
                header.put("global_steps", step);
                header.put("global_samples", step * 4);
                header.put("dp_world_size", dpWorldSize);
                header.put("mp_world_size", mpWorldSize);
                header.put("ds_config", config);
                header.put("ds_version", "0.14.4");
                touch(SampleFiles.torchZip(tag.resolve(name), header), mtime);
            }
            for (int dp = 0; dp < dpWorldSize; dp++) {
                String name = (zero3 ? "bf16_" : "") + "zero_pp_rank_" + dp + String.format("_mp_rank_%02d_optim_states.pt", mp);
                if (skipped.contains(name)) {
                    continue;
                }
                java.util.Map<String, Object> header = new java.util.LinkedHashMap<>();
                header.put("optimizer_state_dict", java.util.Map.of("zero_stage", zero3 ? 3 : 2, "partition_count", dpWorldSize));
                header.put("ds_config", config);
                header.put("ds_version", "0.14.4");
                touch(SampleFiles.torchZip(tag.resolve(name), header), mtime);
            }
        }
        return touch(tag, mtime);
    }

    public static Path touch(Path p, Instant mtime) throws IOException {
        Files.setLastModifiedTime(p, FileTime.from(mtime));
        return p;
    }
}
