package dev.ckptwarden.catalog.integrity;

import static dev.ckptwarden.catalog.integrity.LittleEndian.startsWith;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The 48-byte footer of a TensorFlow checkpoint {@code .index} file (a LevelDB-style SSTable): two
 * block handles and a magic number in the last 8 bytes. The footer is written last, so a file
 * without the magic at its end was cut off.
 *
 * @param metaindexOffset offset of the metaindex block (-1 when the footer is unreadable)
 * @param metaindexSize   its size
 * @param indexOffset     offset of the index block (-1 when the footer is unreadable)
 * @param indexSize       its size
 * @param problems        integrity findings; empty when intact
 */
public record TfIndexFooter(long metaindexOffset, long metaindexSize, long indexOffset, long indexSize,
        List<String> problems) {

    static final int FOOTER_LENGTH = 48;
    /** 0xdb4775248b80fb57 stored little-endian. */
    static final byte[] MAGIC = {0x57, (byte) 0xfb, (byte) 0x80, (byte) 0x8b, 0x24, 0x75, 0x47, (byte) 0xdb};
    /** Each block is followed by a 1-byte compression type and a 4-byte CRC. */
    private static final int BLOCK_TRAILER = 5;

    public TfIndexFooter {
        problems = List.copyOf(problems);
    }

    public boolean intact() {
        return problems.isEmpty();
    }

    public static TfIndexFooter read(Path file) throws IOException {
        try (PositionalReader in = PositionalReader.open(file)) {
            return read(in);
        }
    }

    static boolean hasMagic(PositionalReader in) throws IOException {
        return in.size() >= FOOTER_LENGTH && startsWith(in.read(in.size() - MAGIC.length, MAGIC.length), 0, MAGIC);
    }

    static TfIndexFooter read(PositionalReader in) throws IOException {
        long size = in.size();
        if (size < FOOTER_LENGTH) {
            return broken("TensorFlow index shorter than its 48-byte footer (" + size + " bytes)");
        }
        byte[] f = in.read(size - FOOTER_LENGTH, FOOTER_LENGTH);
        if (!startsWith(f, FOOTER_LENGTH - MAGIC.length, MAGIC)) {
            return broken("TensorFlow index footer magic missing (file truncated?)");
        }
        long[] v = new long[4];
        int p = 0;
        for (int i = 0; i < 4; i++) {
            long value = 0;
            int shift = 0;
            while (true) {
                if (p >= FOOTER_LENGTH - MAGIC.length || shift > 63) {
                    return broken("TensorFlow index footer block handles are malformed");
                }
                int b = f[p++] & 0xff;
                value |= (long) (b & 0x7f) << shift;
                shift += 7;
                if ((b & 0x80) == 0) {
                    break;
                }
            }
            v[i] = value;
        }
        long blocksEnd = size - FOOTER_LENGTH;
        for (int i = 0; i < 4; i += 2) {
            if (v[i] < 0 || v[i + 1] < 0 || v[i] + v[i + 1] + BLOCK_TRAILER > blocksEnd) {
                return new TfIndexFooter(v[0], v[1], v[2], v[3],
                        List.of("TensorFlow index footer points past the end of its blocks"));
            }
        }
        return new TfIndexFooter(v[0], v[1], v[2], v[3], List.of());
    }

    private static TfIndexFooter broken(String problem) {
        return new TfIndexFooter(-1, 0, -1, 0, List.of(problem));
    }
}
