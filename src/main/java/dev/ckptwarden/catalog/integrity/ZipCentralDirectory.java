package dev.ckptwarden.catalog.integrity;

import static dev.ckptwarden.catalog.integrity.LittleEndian.startsWith;
import static dev.ckptwarden.catalog.integrity.LittleEndian.u16;
import static dev.ckptwarden.catalog.integrity.LittleEndian.u32;
import static dev.ckptwarden.catalog.integrity.LittleEndian.u64;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * The central directory of a zip file (torch.save since 1.6, Lightning {@code .ckpt}, {@code .keras},
 * DCP {@code .distcp}), found from the end record without reading the entries' data. A zip whose
 * writer died before the end has no end record: that is the truncation this detects.
 *
 * @param archiveStart          where the archive's own offset 0 lies in the file; non-zero when other
 *                              data precedes it (a DCP {@code .distcp} file is several torch.save zips
 *                              back to back, and only the last one is described at the end)
 * @param centralDirectoryStart absolute file offset of the central directory, or -1 if not found
 * @param centralDirectorySize  its length in bytes
 * @param zip64                 whether ZIP64 end records were used
 * @param entries               the listed entries (empty when the directory is missing or too large to list)
 * @param problems              integrity findings; empty when the directory is intact
 */
public record ZipCentralDirectory(long archiveStart, long centralDirectoryStart, long centralDirectorySize,
        boolean zip64, List<Entry> entries, List<String> problems) {

    /** One entry as the central directory describes it; offsets are relative to {@code archiveStart}. */
    public record Entry(String name, int method, long compressedSize, long size, long localHeaderOffset) {
    }

    public static final String MISSING = "zip central directory missing (file truncated?)";

    static final byte[] LOCAL_HEADER = {'P', 'K', 3, 4};
    static final byte[] END_RECORD = {'P', 'K', 5, 6};
    private static final byte[] CENTRAL_HEADER = {'P', 'K', 1, 2};
    private static final byte[] ZIP64_END_RECORD = {'P', 'K', 6, 6};
    private static final byte[] ZIP64_LOCATOR = {'P', 'K', 6, 7};
    private static final int END_RECORD_LENGTH = 22;
    private static final int MAX_COMMENT = 0xffff;
    private static final int ZIP64_LOCATOR_LENGTH = 20;
    private static final int ZIP64_END_RECORD_LENGTH = 56;
    private static final int CENTRAL_HEADER_LENGTH = 46;
    private static final int LOCAL_HEADER_LENGTH = 30;
    /** Larger directories (millions of entries) are only located, not listed, to keep memory bounded. */
    static final int MAX_LISTED_DIRECTORY = 64 << 20;
    private static final int MAX_ENTRY_PROBLEMS = 5;

    public ZipCentralDirectory {
        entries = List.copyOf(entries);
        problems = List.copyOf(problems);
    }

    public boolean intact() {
        return problems.isEmpty();
    }

    public List<String> entryNames() {
        return entries.stream().map(Entry::name).toList();
    }

    public Optional<Entry> entry(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).findFirst();
    }

    /** Reads the end records and the central directory of {@code file}; never reads entry data. */
    public static ZipCentralDirectory read(Path file) throws IOException {
        try (PositionalReader in = PositionalReader.open(file)) {
            return read(in);
        }
    }

    static ZipCentralDirectory read(PositionalReader in) throws IOException {
        long size = in.size();
        if (size < END_RECORD_LENGTH) {
            return broken(MISSING);
        }
        // torch.save and most writers leave no archive comment, so the end record is the last 22 bytes:
        // try that first and read the 64 KiB a comment could occupy only when it is not there.
        long tailStart = size - END_RECORD_LENGTH;
        byte[] tail = in.read(tailStart, END_RECORD_LENGTH);
        int at = startsWith(tail, 0, END_RECORD) && u16(tail, 20) == 0 ? 0 : -1;
        if (at < 0) {
            int tailLength = (int) Math.min(size, END_RECORD_LENGTH + MAX_COMMENT);
            tailStart = size - tailLength;
            tail = in.read(tailStart, tailLength);
            // The end record must end exactly at end of file (its comment included); a record cut short by
            // truncation, or a stray signature inside data, does not qualify.
            for (int i = tail.length - END_RECORD_LENGTH; i >= 0; i--) {
                if (startsWith(tail, i, END_RECORD) && i + END_RECORD_LENGTH + u16(tail, i + 20) == tail.length) {
                    at = i;
                    break;
                }
            }
        }
        if (at < 0) {
            return broken(MISSING);
        }
        long endRecord = tailStart + at;
        long entryCount = u16(tail, at + 10);
        long cdSize = u32(tail, at + 12);
        long cdOffset = u32(tail, at + 16);
        boolean zip64 = false;
        long directoryEnd = endRecord;

        byte[] locator = endRecord >= ZIP64_LOCATOR_LENGTH
                ? in.read(endRecord - ZIP64_LOCATOR_LENGTH, ZIP64_LOCATOR_LENGTH) : new byte[0];
        if (startsWith(locator, 0, ZIP64_LOCATOR)) {
            long recorded = u64(locator, 8);
            long record = -1;
            long beforeLocator = endRecord - ZIP64_LOCATOR_LENGTH - ZIP64_END_RECORD_LENGTH;
            if (recorded >= 0 && recorded <= beforeLocator && startsWith(in.read(recorded, 4), 0, ZIP64_END_RECORD)) {
                record = recorded;
            } else if (beforeLocator >= 0 && startsWith(in.read(beforeLocator, 4), 0, ZIP64_END_RECORD)) {
                record = beforeLocator; // offsets are relative to an archive that starts later in the file
            }
            if (record < 0) {
                return broken("zip64 end of central directory record missing");
            }
            byte[] r = in.read(record, ZIP64_END_RECORD_LENGTH);
            if (r.length < ZIP64_END_RECORD_LENGTH) {
                return broken("zip64 end of central directory record cut short");
            }
            entryCount = u64(r, 32);
            cdSize = u64(r, 40);
            cdOffset = u64(r, 48);
            zip64 = true;
            directoryEnd = record;
        } else if (cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            return broken("zip64 end of central directory locator missing");
        }

        // cdOffset > size - cdSize rather than cdOffset + cdSize > size: zip64 values near 2^63 would overflow the sum
        if (cdSize < 0 || cdOffset < 0 || entryCount < 0 || cdSize > size || cdOffset > size - cdSize) {
            return broken("zip central directory points past end of file");
        }
        long archiveStart = directoryEnd - (cdOffset + cdSize);
        if (archiveStart < 0) {
            return broken("zip central directory overlaps its end record");
        }
        long cdStart = archiveStart + cdOffset;
        List<String> problems = new ArrayList<>();
        if (entryCount > 0 && !startsWith(in.read(0, 4), 0, LOCAL_HEADER)) {
            problems.add("zip does not start with a local file header");
        }
        if (entryCount > 0 && !startsWith(in.read(cdStart, 4), 0, CENTRAL_HEADER)) {
            problems.add("zip central directory damaged: no entry header at offset " + cdStart);
            return new ZipCentralDirectory(archiveStart, cdStart, cdSize, zip64, List.of(), problems);
        }
        if (cdSize > MAX_LISTED_DIRECTORY) {
            return new ZipCentralDirectory(archiveStart, cdStart, cdSize, zip64, List.of(), problems);
        }
        List<Entry> entries = parseEntries(in.read(cdStart, (int) cdSize), entryCount, archiveStart, cdStart, problems);
        if (!entries.isEmpty()) {
            Entry first = entries.stream().min((a, b) -> Long.compare(a.localHeaderOffset(), b.localHeaderOffset()))
                    .orElseThrow();
            long firstHeader = archiveStart + first.localHeaderOffset();
            // a zip64 offset with its top bit set is negative here: damage, not a position to read at
            if (firstHeader != 0 && (firstHeader < 0 || !startsWith(in.read(firstHeader, 4), 0, LOCAL_HEADER))) {
                problems.add("zip entry '" + first.name() + "' has no local header at offset " + firstHeader);
            }
        }
        return new ZipCentralDirectory(archiveStart, cdStart, cdSize, zip64, entries, problems);
    }

    private static List<Entry> parseEntries(byte[] cd, long expected, long archiveStart, long cdStart,
            List<String> problems) {
        List<Entry> entries = new ArrayList<>();
        int p = 0;
        int damaged = 0;
        while (p + CENTRAL_HEADER_LENGTH <= cd.length && startsWith(cd, p, CENTRAL_HEADER)) {
            int flags = u16(cd, p + 8);
            int method = u16(cd, p + 10);
            long compressed = u32(cd, p + 20);
            long size = u32(cd, p + 24);
            int nameLength = u16(cd, p + 28);
            int extraLength = u16(cd, p + 30);
            int commentLength = u16(cd, p + 32);
            long localOffset = u32(cd, p + 42);
            int next = p + CENTRAL_HEADER_LENGTH + nameLength + extraLength + commentLength;
            if (next > cd.length) {
                break;
            }
            String name = new String(cd, p + CENTRAL_HEADER_LENGTH, nameLength,
                    (flags & 0x800) != 0 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            // ZIP64 extra field: only the values whose 32-bit slots are saturated are present, in this order.
            int x = p + CENTRAL_HEADER_LENGTH + nameLength;
            int xEnd = x + extraLength;
            while (x + 4 <= xEnd) {
                int id = u16(cd, x);
                int len = u16(cd, x + 2);
                if (id == 0x0001) {
                    int v = x + 4;
                    int vEnd = Math.min(x + 4 + len, xEnd);
                    if (size == 0xffffffffL && v + 8 <= vEnd) {
                        size = u64(cd, v);
                        v += 8;
                    }
                    if (compressed == 0xffffffffL && v + 8 <= vEnd) {
                        compressed = u64(cd, v);
                        v += 8;
                    }
                    if (localOffset == 0xffffffffL && v + 8 <= vEnd) {
                        localOffset = u64(cd, v);
                    }
                }
                x += 4 + len;
            }
            Entry e = new Entry(name, method, compressed, size, localOffset);
            entries.add(e);
            long dataEnd = archiveStart + localOffset + LOCAL_HEADER_LENGTH + nameLength + compressed;
            if (localOffset < 0 || compressed < 0 || dataEnd > cdStart || dataEnd < 0) {
                if (damaged++ < MAX_ENTRY_PROBLEMS) {
                    problems.add("zip entry '" + name + "' runs into the central directory");
                }
            }
            p = next;
        }
        if (damaged > MAX_ENTRY_PROBLEMS) {
            problems.add((damaged - MAX_ENTRY_PROBLEMS) + " more zip entries run into the central directory");
        }
        if (entries.size() != expected) {
            problems.add("zip central directory lists " + entries.size() + " entries, its end record says " + expected);
        }
        return entries;
    }

    /**
     * Reads one entry's content, inflating it if needed, when both its stored and expanded sizes are
     * at most {@code maxBytes}; empty when it is larger.
     *
     * @throws ZipException when the entry's local header or data is not where the directory says
     */
    Optional<byte[]> readEntry(PositionalReader in, Entry e, int maxBytes) throws IOException {
        if (e.compressedSize() > maxBytes || e.size() > maxBytes) {
            return Optional.empty();
        }
        if (e.compressedSize() < 0 || e.size() < 0) {
            throw new ZipException("zip entry '" + e.name() + "' has a size beyond 2^63 bytes");
        }
        long header = archiveStart + e.localHeaderOffset();
        if (header < 0) {
            throw new ZipException("zip entry '" + e.name() + "' has no local header at offset " + header);
        }
        byte[] h = in.read(header, LOCAL_HEADER_LENGTH);
        if (h.length < LOCAL_HEADER_LENGTH || !startsWith(h, 0, LOCAL_HEADER)) {
            throw new ZipException("zip entry '" + e.name() + "' has no local header at offset " + header);
        }
        long dataStart = header + LOCAL_HEADER_LENGTH + u16(h, 26) + u16(h, 28);
        byte[] stored = in.read(dataStart, (int) e.compressedSize());
        if (stored.length < e.compressedSize()) {
            throw new ZipException("zip entry '" + e.name() + "' is cut short");
        }
        return switch (e.method()) {
            case 0 -> Optional.of(stored);
            case 8 -> Optional.of(inflate(stored, (int) e.size(), e.name()));
            default -> throw new ZipException("zip entry '" + e.name() + "' uses compression method " + e.method());
        };
    }

    private static byte[] inflate(byte[] deflated, int size, String name) throws ZipException {
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(deflated);
            byte[] out = new byte[size];
            int n = 0;
            while (n < size && !inflater.finished()) {
                int r = inflater.inflate(out, n, size - n);
                if (r == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                n += r;
            }
            if (n != size) {
                throw new ZipException("zip entry '" + name + "' inflates to " + n + " bytes, directory says " + size);
            }
            return out;
        } catch (DataFormatException ex) {
            throw new ZipException("zip entry '" + name + "' is not valid deflate data");
        } finally {
            inflater.end();
        }
    }

    private static ZipCentralDirectory broken(String problem) {
        return new ZipCentralDirectory(0, -1, 0, false, List.of(), List.of(problem));
    }
}
