package dev.ckptwarden.catalog.integrity;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32;

/**
 * Writes a torch-style ZIP64 archive whose second entry is {@code bigSize} bytes of sparse hole:
 * {@code <prefix>/data.pkl} (stored), then {@code <prefix>/data/0}, then the central directory and
 * ZIP64 end records past the hole. Nothing in the hole is ever written, so it costs no disk.
 */
final class SparseZip64 {

    private SparseZip64() {
    }

    /** Writes the archive and returns the offset of its central directory. */
    static long write(Path file, String prefix, byte[] pickle, long bigSize) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(pickle);
        byte[] pickleName = (prefix + "/data.pkl").getBytes(StandardCharsets.UTF_8);
        byte[] bigName = (prefix + "/data/0").getBytes(StandardCharsets.UTF_8);
        byte[] zip64Sizes = le(new ByteArrayOutputStream(), 0x0001, 2, 16, 2, bigSize, 8, bigSize, 8).toByteArray();

        ByteArrayOutputStream head = new ByteArrayOutputStream();
        local(head, pickleName, crc.getValue(), pickle.length, pickle.length, new byte[0]);
        head.writeBytes(pickle);
        long bigOffset = head.size();
        local(head, bigName, 0, 0xffffffffL, 0xffffffffL, zip64Sizes);
        long cdStart = head.size() + bigSize;

        ByteArrayOutputStream cd = new ByteArrayOutputStream();
        central(cd, pickleName, crc.getValue(), pickle.length, pickle.length, 0, new byte[0]);
        central(cd, bigName, 0, 0xffffffffL, 0xffffffffL, bigOffset, zip64Sizes);
        long zip64End = cdStart + cd.size();

        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        tail.writeBytes(cd.toByteArray());
        le(tail, 0x06064b50, 4, 44, 8, 45, 2, 45, 2, 0, 4, 0, 4, 2, 8, 2, 8, cd.size(), 8, cdStart, 8);
        le(tail, 0x07064b50, 4, 0, 4, zip64End, 8, 1, 4);
        le(tail, 0x06054b50, 4, 0, 2, 0, 2, 2, 2, 2, 2, cd.size(), 4, 0xffffffffL, 4, 0, 2);

        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            raf.write(head.toByteArray());
            raf.seek(cdStart);
            raf.write(tail.toByteArray());
        }
        return cdStart;
    }

    private static void local(ByteArrayOutputStream out, byte[] name, long crc, long compressed, long size,
            byte[] extra) {
        le(out, 0x04034b50, 4, 45, 2, 0, 2, 0, 2, 0, 2, 0, 2, crc, 4, compressed, 4, size, 4, name.length, 2,
                extra.length, 2);
        out.writeBytes(name);
        out.writeBytes(extra);
    }

    private static void central(ByteArrayOutputStream out, byte[] name, long crc, long compressed, long size,
            long localOffset, byte[] extra) {
        le(out, 0x02014b50, 4, 45, 2, 45, 2, 0, 2, 0, 2, 0, 2, 0, 2, crc, 4, compressed, 4, size, 4, name.length, 2,
                extra.length, 2, 0, 2, 0, 2, 0, 2, 0, 4, localOffset, 4);
        out.writeBytes(name);
        out.writeBytes(extra);
    }

    /** Appends (value, width) pairs little-endian. */
    private static ByteArrayOutputStream le(ByteArrayOutputStream out, long... valueWidthPairs) {
        for (int i = 0; i < valueWidthPairs.length; i += 2) {
            long v = valueWidthPairs[i];
            for (int b = 0; b < valueWidthPairs[i + 1]; b++) {
                out.write((int) (v >>> (8 * b)) & 0xff);
            }
        }
        return out;
    }
}
