package dev.ckptwarden.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * {@code demo}: creates a small example checkpoint tree (a Lightning run and a Hugging Face run) for
 * the example configuration to watch. Files are tiny but real formats: torch zip archives with a
 * pickled header, safetensors, trainer_state.json. Leaves an existing directory untouched.
 */
@Command(name = "demo", description = "Create a small example checkpoint tree (default demo/checkpoints) if it does not exist.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--dir", paramLabel = "DIR", description = "where to create it (default: demo/checkpoints)")
    Path dir = Path.of("demo", "checkpoints");

    @Override
    public Integer call() throws IOException {
        if (Files.exists(dir)) {
            System.out.println(dir + " already exists; left as it is");
            return ExitCode.OK;
        }
        Instant t0 = Instant.now().minusSeconds(3600);
        Path lightning = Files.createDirectories(dir.resolve("mnist-lightning"));
        double[] losses = {0.91, 0.52, 0.38, 0.41, 0.35};
        for (int epoch = 0; epoch < losses.length; epoch++) {
            long step = (epoch + 1) * 500L;
            Path f = lightning.resolve(String.format(java.util.Locale.ROOT, "epoch=%02d-step=%d-val_loss=%.2f.ckpt", epoch, step,
                    losses[epoch]));
            writeTorchZip(f, epoch, step, true);
            Files.setLastModifiedTime(f, FileTime.from(t0.plusSeconds(600L * epoch)));
        }
        Path last = lightning.resolve("last.ckpt");
        Files.copy(lightning.resolve("epoch=04-step=2500-val_loss=0.35.ckpt"), last);
        Files.setLastModifiedTime(last, FileTime.from(t0.plusSeconds(2400)));
        Path hf = Files.createDirectories(dir.resolve("bert-hf"));
        for (int i = 1; i <= 3; i++) {
            long step = i * 1000L;
            Path ck = Files.createDirectories(hf.resolve("checkpoint-" + step));
            writeSafetensors(ck.resolve("model.safetensors"));
            writeTorchZip(ck.resolve("optimizer.pt"), null, null, false);
            String state = "{\"global_step\": " + step + ", \"epoch\": " + i + ".0, \"best_metric\": 0.42,"
                    + " \"best_model_checkpoint\": \"out/bert-hf/checkpoint-2000\", \"log_history\": [{\"eval_loss\": "
                    + (0.6 - i * 0.05) + ", \"step\": " + step + ", \"epoch\": " + i + ".0}]}";
            Files.writeString(ck.resolve("trainer_state.json"), state);
            for (Path p : new Path[]{ck.resolve("model.safetensors"), ck.resolve("optimizer.pt"), ck.resolve("trainer_state.json")}) {
                Files.setLastModifiedTime(p, FileTime.from(t0.plusSeconds(900L * i)));
            }
        }
        System.out.println("created " + dir + " with a Lightning run (5 checkpoints + last.ckpt) and a Hugging Face run (3 checkpoints)");
        return ExitCode.OK;
    }

    /** A torch.save-style zip: {@code archive/data.pkl} holding a dict with epoch/global_step/optimizer_states. */
    static void writeTorchZip(Path file, Integer epoch, Long step, boolean lightning) throws IOException {
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        pkl.write(new byte[]{(byte) 0x80, 2, '}', '('});
        if (epoch != null) {
            str(pkl, "epoch");
            pkl.write('J');
            pkl.write(le(epoch));
            str(pkl, "global_step");
            pkl.write('J');
            pkl.write(le((int) (long) step));
        }
        if (lightning) {
            str(pkl, "pytorch-lightning_version");
            str(pkl, "2.4.0");
            str(pkl, "state_dict");
            pkl.write('}');
        }
        str(pkl, lightning ? "optimizer_states" : "state");
        pkl.write(new byte[]{']', '(', '}', 'e'});
        pkl.write(new byte[]{'u', '.'});
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.setMethod(ZipOutputStream.STORED);
            stored(zip, "archive/data.pkl", pkl.toByteArray());
            stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            stored(zip, "archive/data/0", new byte[4096]);
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    private static void str(ByteArrayOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        out.write(le(b.length));
        out.write(b);
    }

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static void writeSafetensors(Path file) throws IOException {
        String header = "{\"weight\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 64).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).put(new byte[64]);
        Files.write(file, buf.array());
    }
}
