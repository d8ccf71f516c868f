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

    public static Path touch(Path p, Instant mtime) throws IOException {
        Files.setLastModifiedTime(p, FileTime.from(mtime));
        return p;
    }
}
