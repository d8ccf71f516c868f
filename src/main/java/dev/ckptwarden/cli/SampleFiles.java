package dev.ckptwarden.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Tiny checkpoint files in the real formats, for the demo tree (and tests): a torch.save-style zip
 * whose {@code archive/data.pkl} is a protocol-2 pickle of a dict, and a safetensors file.
 */
public final class SampleFiles {
    private SampleFiles() {
    }

    /**
     * @param epoch      null to leave out epoch and global_step
     * @param lightning  add Lightning's version key and state_dict
     * @param optimizer  add a non-empty optimizer_states (Lightning) or state (plain) entry
     */
    public static Path torchZip(Path file, Integer epoch, Long step, boolean lightning, boolean optimizer) throws IOException {
        return torchZip(file, epoch, step, lightning, optimizer, 4096);
    }

    /** As above, with a tensor entry of {@code dataBytes} (a save of a chosen size, for disk-pressure tests). */
    public static Path torchZip(Path file, Integer epoch, Long step, boolean lightning, boolean optimizer, int dataBytes)
            throws IOException {
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        pkl.write(new byte[]{(byte) 0x80, 2, '}', '('});
        if (epoch != null) {
            str(pkl, "epoch");
            pkl.write('J');
            pkl.write(le(epoch));
            str(pkl, "global_step");
            pkl.write('J');
            pkl.write(le(step == null ? 0 : (int) (long) step));
        }
        if (lightning) {
            str(pkl, "pytorch-lightning_version");
            str(pkl, "2.4.0");
            str(pkl, "state_dict");
            pkl.write('}');
        }
        if (optimizer) {
            str(pkl, lightning ? "optimizer_states" : "state");
            pkl.write(new byte[]{']', '(', '}', 'e'});
        }
        pkl.write(new byte[]{'u', '.'});
        writeZip(file, pkl.toByteArray(), dataBytes);
        return file;
    }

    /**
     * A torch.save-style zip whose pickle is {@code header}: a dict of str keys to str, int, bool, None,
     * or nested dicts of the same (how DeepSpeed's model-states and optimizer files look from outside).
     */
    public static Path torchZip(Path file, Map<String, ?> header) throws IOException {
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        pkl.write(new byte[]{(byte) 0x80, 2});
        dict(pkl, header);
        pkl.write('.');
        writeZip(file, pkl.toByteArray(), 64);
        return file;
    }

    /** An instance of a plain Python class (an {@code argparse.Namespace}) in a {@link #torchZip(Path, Map)} header. */
    public record PyInstance(String module, String name, Map<String, ?> fields) {
    }

    private static void dict(ByteArrayOutputStream out, Map<?, ?> d) throws IOException {
        out.write(new byte[]{'}', '('});
        for (Map.Entry<?, ?> e : d.entrySet()) {
            str(out, (String) e.getKey());
            Object v = e.getValue();
            if (v == null) {
                out.write('N');
            } else if (v instanceof String s) {
                str(out, s);
            } else if (v instanceof Boolean b) {
                out.write(b ? 0x88 : 0x89);
            } else if (v instanceof Number n) {
                out.write('J');
                out.write(le(n.intValue()));
            } else if (v instanceof Map<?, ?> m) {
                dict(out, m);
            } else if (v instanceof PyInstance o) {
                // as pickle protocol 2 writes a plain object: cls.__new__(cls), then its __dict__ by BUILD
                out.writeBytes(("c" + o.module() + "\n" + o.name() + "\n").getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[]{')', (byte) 0x81});
                dict(out, o.fields());
                out.write('b');
            } else {
                throw new IllegalArgumentException("cannot pickle " + v.getClass().getSimpleName());
            }
        }
        out.write('u');
    }

    private static void writeZip(Path file, byte[] pickle, int dataBytes) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.setMethod(ZipOutputStream.STORED);
            stored(zip, "archive/data.pkl", pickle);
            stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            stored(zip, "archive/data/0", new byte[dataBytes]);
        }
    }

    /** A valid safetensors file with one 4x4 float tensor. */
    public static Path safetensors(Path file) throws IOException {
        String header = "{\"weight\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 64).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).put(new byte[64]);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, buf.array());
        return file;
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        CRC32 crc = new CRC32();
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
}
