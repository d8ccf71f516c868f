package dev.ckptwarden.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Small but real checkpoints written in a test's temporary directory, all with a modification time
 * long ago (settled): a Lightning torch zip, a safetensors file, a Hugging Face {@code checkpoint-N/}.
 * Each passes the format checks the catalog runs on real ones. See {@link TreeBuilder} for chosen times.
 */
public final class TinyCheckpoints {
    /** Well before any clock a test uses, so everything written here has settled. */
    public static final Instant LONG_AGO = Instant.parse("2024-01-01T00:00:00Z");

    private TinyCheckpoints() {
    }

    /** A Lightning-style torch zip; {@code epoch} null leaves out epoch and step. */
    public static Path torchZip(Path file, Integer epoch, Long step, boolean optimizer) throws IOException {
        dev.ckptwarden.cli.SampleFiles.torchZip(file, epoch, step, true, optimizer);
        return old(file);
    }

    /** A safetensors file with one F32 tensor (weights only). */
    public static Path safetensors(Path file) throws IOException {
        return TreeBuilder.safetensors(file, LONG_AGO);
    }

    /** A Hugging Face {@code checkpoint-N/} with trainer_state.json and model.safetensors, no optimizer. */
    public static Path huggingFace(Path dir, long step) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("trainer_state.json"), "{\"global_step\": " + step + ", \"epoch\": 1.0, "
                + "\"log_history\": [{\"step\": " + step + ", \"eval_loss\": 0.5}]}");
        old(dir.resolve("trainer_state.json"));
        safetensors(dir.resolve("model.safetensors"));
        return old(dir);
    }

    /** Sets a file's modification time to {@link #LONG_AGO}. */
    public static Path old(Path file) throws IOException {
        return TreeBuilder.touch(file, LONG_AGO);
    }
}
