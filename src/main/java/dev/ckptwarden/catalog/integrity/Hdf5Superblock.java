package dev.ckptwarden.catalog.integrity;

import static dev.ckptwarden.catalog.integrity.LittleEndian.startsWith;
import static dev.ckptwarden.catalog.integrity.LittleEndian.unsigned;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The superblock of an HDF5 file (Keras {@code .h5}/{@code .hdf5} saves). It records the file's
 * end-of-file address, so a file shorter than that was cut off; reading it costs one small read.
 *
 * @param superblockOffset where the signature was found (0, or 512, 1024, 2048... after a user block); -1 if none
 * @param version          superblock version (0 to 3), -1 if unknown
 * @param baseAddress      absolute offset that the file's addresses are relative to
 * @param endOfFileAddress end-of-file address relative to {@code baseAddress}; -1 if undefined or unread
 * @param problems         integrity findings; empty when intact
 */
public record Hdf5Superblock(long superblockOffset, int version, long baseAddress, long endOfFileAddress,
        List<String> problems) {

    static final byte[] SIGNATURE = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    private static final int READ_LENGTH = 128;

    public Hdf5Superblock {
        problems = List.copyOf(problems);
    }

    public boolean intact() {
        return problems.isEmpty();
    }

    public static Hdf5Superblock read(Path file) throws IOException {
        try (PositionalReader in = PositionalReader.open(file)) {
            return read(in);
        }
    }

    /** Finds the signature at 0 or at a power of two from 512 on, as the format allows; -1 if absent. */
    static long findSignature(PositionalReader in) throws IOException {
        for (long at = 0; at + SIGNATURE.length <= in.size(); at = at == 0 ? 512 : at * 2) {
            if (startsWith(in.read(at, SIGNATURE.length), 0, SIGNATURE)) {
                return at;
            }
        }
        return -1;
    }

    static Hdf5Superblock read(PositionalReader in) throws IOException {
        long at = findSignature(in);
        if (at < 0) {
            return new Hdf5Superblock(-1, -1, 0, -1, List.of("HDF5 signature missing"));
        }
        byte[] b = in.read(at, READ_LENGTH);
        if (b.length < 9) {
            return cutShort(at, -1);
        }
        int version = b[8] & 0xff;
        int offsetSize;
        int addresses;
        switch (version) {
            case 0, 1 -> {
                if (b.length < 15) {
                    return cutShort(at, version);
                }
                offsetSize = b[13] & 0xff;
                addresses = version == 0 ? 24 : 28;
            }
            case 2, 3 -> {
                if (b.length < 10) {
                    return cutShort(at, version);
                }
                offsetSize = b[9] & 0xff;
                addresses = 12;
            }
            default -> {
                // A newer superblock layout: we cannot read its end address, which is not a fault of the file.
                return new Hdf5Superblock(at, version, 0, -1, List.of());
            }
        }
        if (offsetSize != 2 && offsetSize != 4 && offsetSize != 8) {
            return new Hdf5Superblock(at, version, 0, -1, List.of());
        }
        // base address, then (free-space or extension address), then the end-of-file address
        int eofField = addresses + 2 * offsetSize;
        if (b.length < eofField + offsetSize) {
            return cutShort(at, version);
        }
        long undefined = offsetSize == 8 ? -1L : (1L << (8 * offsetSize)) - 1;
        long base = unsigned(b, addresses, offsetSize);
        long eof = unsigned(b, eofField, offsetSize);
        if (base == undefined) {
            base = at;
        }
        if (eof == undefined) {
            return new Hdf5Superblock(at, version, base, -1, List.of());
        }
        List<String> problems = new ArrayList<>();
        long end = base + eof;
        if (eof < 0 || end < 0) {
            problems.add("HDF5 superblock end-of-file address is invalid");
        } else if (in.size() < end) {
            problems.add("HDF5 file shorter than its superblock says: " + in.size() + " of " + end + " bytes");
        }
        return new Hdf5Superblock(at, version, base, eof, problems);
    }

    private static Hdf5Superblock cutShort(long at, int version) {
        return new Hdf5Superblock(at, version, 0, -1, List.of("HDF5 superblock cut short (file truncated?)"));
    }
}
