package dev.ckptwarden.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.Callable;

/**
 * {@code demo}: creates a small example checkpoint tree (a Lightning run and a Hugging Face run) for
 * the example configuration to watch. Files are tiny but real formats: torch zip archives with a
 * pickled header, safetensors, trainer_state.json. Leaves an existing directory untouched; the tree appears
 * whole (built beside it, then renamed into place).
 */
@Command(name = "demo", description = "Create a small example checkpoint tree (default demo/checkpoints) if it does not exist.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden demo --dir /tmp/demo/checkpoints"})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--dir", paramLabel = "DIR", description = "where to create it (default: demo/checkpoints)")
    Path dir = Path.of("demo", "checkpoints");

    @Override
    public Integer call() throws IOException {
        if (Files.exists(dir)) {
            System.out.println(TerminalText.escape(dir) + " already exists; left as it is");
            return ExitCode.OK;
        }
        // Built beside it and renamed into place: an existing directory is left as it is, so a demo interrupted
        // part-way (Ctrl-C) must not leave half a tree there for every later demo to keep.
        Path target = dir.toAbsolutePath().normalize();
        Path parent = Files.createDirectories(target.getParent());
        Path building = parent.resolve("." + target.getFileName() + ".partial-" + ProcessHandle.current().pid());
        for (int i = 1; Files.exists(building, java.nio.file.LinkOption.NOFOLLOW_LINKS); i++) {
            // left by an interrupted demo whose pid this process now has
            building = parent.resolve("." + target.getFileName() + ".partial-" + ProcessHandle.current().pid() + "-" + i);
        }
        write(building);
        Files.move(building, target, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("created " + TerminalText.escape(dir) + " with a Lightning run (5 checkpoints + last.ckpt) and a Hugging Face run (3 checkpoints)");
        return ExitCode.OK;
    }

    private static void write(Path dir) throws IOException {
        Instant t0 = Instant.now().minusSeconds(3600);
        Path lightning = Files.createDirectories(dir.resolve("mnist-lightning"));
        double[] losses = {0.91, 0.52, 0.38, 0.41, 0.35};
        for (int epoch = 0; epoch < losses.length; epoch++) {
            long step = (epoch + 1) * 500L;
            Path f = lightning.resolve(String.format(java.util.Locale.ROOT, "epoch=%02d-step=%d-val_loss=%.2f.ckpt", epoch, step,
                    losses[epoch]));
            SampleFiles.torchZip(f, epoch, step, true, true);
            Files.setLastModifiedTime(f, FileTime.from(t0.plusSeconds(600L * epoch)));
        }
        Path last = lightning.resolve("last.ckpt");
        Files.copy(lightning.resolve("epoch=04-step=2500-val_loss=0.35.ckpt"), last);
        Files.setLastModifiedTime(last, FileTime.from(t0.plusSeconds(2400)));
        Path hf = Files.createDirectories(dir.resolve("bert-hf"));
        for (int i = 1; i <= 3; i++) {
            long step = i * 1000L;
            Path ck = Files.createDirectories(hf.resolve("checkpoint-" + step));
            SampleFiles.safetensors(ck.resolve("model.safetensors"));
            SampleFiles.torchZip(ck.resolve("optimizer.pt"), null, null, false, true);
            // As the Trainer writes it with metric_for_best_model=eval_loss: the best so far is this save.
            double evalLoss = 0.6 - i * 0.05;
            String state = "{\"global_step\": " + step + ", \"epoch\": " + i + ".0, \"best_metric\": " + evalLoss + ","
                    + " \"best_model_checkpoint\": \"out/bert-hf/checkpoint-" + step + "\", \"log_history\": [{\"eval_loss\": "
                    + evalLoss + ", \"step\": " + step + ", \"epoch\": " + i + ".0}]}";
            Files.writeString(ck.resolve("trainer_state.json"), state);
            for (Path p : new Path[]{ck.resolve("model.safetensors"), ck.resolve("optimizer.pt"), ck.resolve("trainer_state.json")}) {
                Files.setLastModifiedTime(p, FileTime.from(t0.plusSeconds(900L * i)));
            }
        }
    }
}
