package dev.ckptwarden.testing;

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
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Small but real checkpoints written in a test's temporary directory: a torch.save zip whose pickle
 * holds epoch, global_step and (optionally) optimizer state, a safetensors file, and a Hugging Face
 * {@code checkpoint-N/} directory. Each passes the format checks the catalog runs on real ones.
 */
public final class TinyCheckpoints {
    /** Well before any clock a test uses, so everything written here has settled. */
    public static final Instant LONG_AGO = Instant.parse("2024-01-01T00:00:00Z");

    private TinyCheckpoints() {
    }

    /** A Lightning-style torch zip ({@code archive/data.pkl} + {@code archive/version}); mtime {@link #LONG_AGO}. */
    public static Path torchZip(Path file, Integer epoch, Long step, boolean optimizer) throws IOException {
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(pickle(epoch, step, optimizer));
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("archive/version"));
            zip.write("3\n".getBytes(StandardCharsets.US_ASCII));
            zip.closeEntry();
        }
        return old(file);
    }

    /** A safetensors file with one F32 tensor of four values (weights only); mtime {@link #LONG_AGO}. */
    public static Path safetensors(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Files.write(file, b.array());
        return old(file);
    }

    /** A Hugging Face {@code checkpoint-N/} with trainer_state.json and model.safetensors; every mtime {@link #LONG_AGO}. */
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
        Files.setLastModifiedTime(file, FileTime.from(LONG_AGO));
        return file;
    }

    /**
     * Protocol-2 pickle of {@code {"epoch": e, "global_step": s, "state_dict": {},
     * "optimizer_states": [{}]}} (keys left out when null/false), the top level torch.save writes.
     */
    static byte[] pickle(Integer epoch, Long step, boolean optimizer) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80);
        p.write(2);
        p.write('}');
        p.write('(');
        if (epoch != null) {
            unicode(p, "epoch");
            int4(p, epoch);
        }
        if (step != null) {
            unicode(p, "global_step");
            int4(p, step.intValue());
        }
        unicode(p, "state_dict");
        p.write('}');
        if (optimizer) {
            unicode(p, "optimizer_states");
            p.write(']');
            p.write('}');
            p.write('a');
        }
        p.write('u');
        p.write('.');
        return p.toByteArray();
    }

    private static void unicode(ByteArrayOutputStream p, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.write('X');
        p.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        p.writeBytes(b);
    }

    private static void int4(ByteArrayOutputStream p, int v) {
        p.write('J');
        p.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }
}
