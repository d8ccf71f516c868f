package dev.ckptwarden.catalog.integrity;

import dev.ckptwarden.catalog.integrity.PickleReader.PersistentId;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleException;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleTruncatedException;
import dev.ckptwarden.catalog.integrity.PickleReader.PyGlobal;
import dev.ckptwarden.catalog.integrity.PickleReader.PyTuple;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A torch.save file in the format before torch 1.6: pickles of the magic number, the protocol
 * version and sys_info, then the object pickle, the sorted storage keys, and each storage as an
 * 8-byte element count followed by its raw bytes. The pickles are read (bounded) for metadata; the
 * storage sizes they declare give the file's expected length, so a cut-off file is recognised
 * without reading its tensor data.
 */
final class LegacyTorchFile {

    /** Result of reading: metadata when the object pickle could be read, and integrity findings. */
    record Reading(TorchMetadata torch, List<String> problems) {
    }

    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    /** The magic-number pickle as protocol 2 writes it: PROTO 2, LONG1 of 10 bytes, STOP. */
    private static final byte[] MAGIC_PICKLE_V2 = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc,
        (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19, 0x2e};
    private static final long PROTOCOL_VERSION = 1001;
    static final int MAX_PICKLE_BYTES = FileProbe.MAX_PICKLE_BYTES;
    private static final int FIRST_READ = 256 << 10;
    private static final Map<String, Integer> ELEMENT_SIZE = Map.ofEntries(
            Map.entry("DoubleStorage", 8), Map.entry("FloatStorage", 4), Map.entry("HalfStorage", 2),
            Map.entry("BFloat16Storage", 2), Map.entry("LongStorage", 8), Map.entry("IntStorage", 4),
            Map.entry("ShortStorage", 2), Map.entry("CharStorage", 1), Map.entry("ByteStorage", 1),
            Map.entry("BoolStorage", 1), Map.entry("ComplexDoubleStorage", 16), Map.entry("ComplexFloatStorage", 8),
            Map.entry("QUInt8Storage", 1), Map.entry("QInt8Storage", 1), Map.entry("QInt32Storage", 4),
            Map.entry("QUInt4x2Storage", 1), Map.entry("QUInt2x4Storage", 1));

    private LegacyTorchFile() {
    }

    /** True when {@code head} starts with a pickle of torch's magic number (any pickle protocol). */
    static boolean startsWithMagic(byte[] head) {
        try {
            return MAGIC.equals(new PickleReader(head).next());
        } catch (PickleException e) {
            return false;
        }
    }

    /** True when the whole file is a proper prefix of the magic-number pickle: a legacy save cut off at once. */
    static boolean isCutMagic(byte[] wholeFile) {
        return wholeFile.length >= 2 && wholeFile.length < MAGIC_PICKLE_V2.length
                && LittleEndian.startsWith(MAGIC_PICKLE_V2, 0, wholeFile);
    }

    static Reading read(PositionalReader in) throws IOException {
        // Most object pickles are far smaller than the bound: start small, widen only when needed, and
        // never read a byte twice.
        long size = in.size();
        byte[] buf = in.read(0, (int) Math.min(size, FIRST_READ));
        while (true) {
            Reading r = read(in, buf, buf.length == size);
            if (r != null) {
                return r;
            }
            if (buf.length >= MAX_PICKLE_BYTES) {
                return new Reading(null, List.of());
            }
            int wider = (int) Math.min(Math.min((long) buf.length * 4, MAX_PICKLE_BYTES), size);
            byte[] more = in.read(buf.length, wider - buf.length);
            byte[] grown = Arrays.copyOf(buf, buf.length + more.length);
            System.arraycopy(more, 0, grown, buf.length, more.length);
            buf = grown;
        }
    }

    /** Returns null when the pickles run past {@code buf} and more of the file could be read. */
    private static Reading read(PositionalReader in, byte[] buf, boolean whole) throws IOException {
        PickleReader r = new PickleReader(buf);
        List<String> problems = new ArrayList<>();
        TorchMetadata torch = null;
        try {
            if (!MAGIC.equals(r.next())) {
                return new Reading(null, List.of("torch legacy magic number missing"));
            }
            Object protocol = r.next();
            Object sysInfo = r.next();
            Object main = r.next();
            torch = TorchMetadata.fromPickle(main, List.of());
            Object keys = r.next();
            if (Long.valueOf(PROTOCOL_VERSION).equals(protocol)) {
                checkStorageLength(in, r, sysInfo, keys, problems);
            }
        } catch (PickleTruncatedException e) {
            if (!whole) {
                return null; // the pickles go on past what we read
            }
            problems.add("torch legacy pickle ends before its STOP opcode (file truncated?)");
        } catch (PickleException e) {
            // a pickle we cannot interpret says nothing about the file's integrity
        }
        return new Reading(torch, problems);
    }

    /**
     * Adds a problem when the file is shorter than its storages need. Any layout we do not fully
     * understand (big-endian writer, unknown storage type, a first length field that disagrees)
     * skips the check rather than risk a false alarm.
     */
    private static void checkStorageLength(PositionalReader in, PickleReader r, Object sysInfo, Object keys,
            List<String> problems) throws IOException {
        if (!(sysInfo instanceof Map<?, ?> info) || !Boolean.TRUE.equals(info.get("little_endian"))
                || !(keys instanceof List<?> keyList)) {
            return;
        }
        Map<String, long[]> storages = new HashMap<>(); // key -> {element count, bytes}
        for (PersistentId id : r.persistentIds()) {
            if (!(id.pid() instanceof PyTuple t) || t.size() < 5 || !"storage".equals(t.get(0))) {
                return;
            }
            if (!(t.get(1) instanceof PyGlobal type) || !(t.get(2) instanceof String key)
                    || !(t.get(4) instanceof Long count) || count < 0) {
                return;
            }
            Integer elementSize = ELEMENT_SIZE.get(type.name());
            if (elementSize == null) {
                return;
            }
            try {
                storages.put(key, new long[] {count, Math.multiplyExact(count, elementSize)});
            } catch (ArithmeticException e) {
                return;
            }
        }
        long start = r.position();
        long end = start;
        for (Object k : keyList) {
            long[] s = k instanceof String key ? storages.get(key) : null;
            if (s == null) {
                return;
            }
            end += 8 + s[1];
        }
        if (!keyList.isEmpty()) {
            byte[] first = in.read(start, 8);
            if (first.length == 8 && LittleEndian.u64(first, 0) != storages.get((String) keyList.get(0))[0]) {
                return;
            }
        }
        if (in.size() < end) {
            problems.add("torch legacy file shorter than its storages need: " + in.size() + " of " + end + " bytes");
        }
    }
}
