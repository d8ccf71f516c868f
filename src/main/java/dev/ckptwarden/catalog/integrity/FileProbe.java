package dev.ckptwarden.catalog.integrity;

import static dev.ckptwarden.catalog.integrity.LittleEndian.startsWith;
import static dev.ckptwarden.catalog.integrity.LittleEndian.u16;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleException;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleTruncatedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.ZipException;

/**
 * Sniffs what a file is from its first bytes (and, for formats marked at the end, its last bytes),
 * then runs that format's header check. Every read is bounded: a multi-gigabyte checkpoint costs a
 * few kilobytes of reads plus, for torch files, its pickle when that is at most 32 MiB.
 */
public final class FileProbe {

    /** The pickle inside a torch zip (or the legacy object pickle) is only read up to this size. */
    public static final int MAX_PICKLE_BYTES = 32 << 20;
    /** JSON files up to this size are parsed in full to confirm they are complete. */
    static final int MAX_JSON_CHECK = 16 << 20;
    private static final int HEAD = 4096;
    private static final Pattern TORCH_PICKLE = Pattern.compile("[^/]+/data\\.pkl");
    /** Names under which a file is expected to be a torch zip or legacy torch pickle. */
    private static final Set<String> TORCH_EXTENSIONS = Set.of("ckpt", "pt", "pth", "bin", "distcp");
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private FileProbe() {
    }

    /** Probes {@code file}: content type, integrity problems, and torch metadata when readable. */
    public static Probe probe(Path file) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class); // one stat, not exists + isRegularFile
        } catch (NoSuchFileException absent) {
            attributes = null; // opening it below reports that
        }
        if (attributes != null && !attributes.isRegularFile()) {
            // opening a FIFO would block until someone writes to it
            throw new IOException("cannot probe " + file + ": not a regular file");
        }
        try (PositionalReader in = PositionalReader.open(file)) {
            return probe(file, in);
        }
    }

    /**
     * Probes {@code file} as read from {@code source}: the same checks, through bounded positional reads
     * (for a remote root, ranged reads; never the whole file).
     */
    public static Probe probe(FileSource source, Path file) throws IOException {
        if (source == FileSource.LOCAL) {
            return probe(file);
        }
        try (PositionalReader in = PositionalReader.open(source, file)) {
            return probe(file, in);
        }
    }

    static Probe probe(Path file, PositionalReader in) throws IOException {
        long size = in.size();
        if (size == 0) {
            return new Probe(ContentType.EMPTY, 0, List.of("empty file (0 bytes)"), null);
        }
        byte[] head = in.read(0, HEAD);
        if (head.length == 0) { // emptied while we looked
            return new Probe(ContentType.EMPTY, 0, List.of("empty file (0 bytes)"), null);
        }
        String ext = extension(file);
        // First: a safetensors header length such as 640 starts with the bytes 80 02, like a pickle.
        if (SafetensorsHeader.looksLike(head)) {
            return safetensors(in);
        }
        if (startsWith(head, 0, ZipCentralDirectory.LOCAL_HEADER) || startsWith(head, 0, ZipCentralDirectory.END_RECORD)
                || size < 4 && startsWith(ZipCentralDirectory.LOCAL_HEADER, 0, head)) { // "PK": a zip cut at once
            return zip(in, head, ext);
        }
        if ((head[0] & 0xff) == 0x80 && (head.length == 1 || head[1] >= 2 && head[1] <= 5)
                && !ext.equals("safetensors")) { // a cut safetensors file may start 80 02 too
            return pickle(in, head);
        }
        if (startsWith(head, 0, Hdf5Superblock.SIGNATURE)) {
            return hdf5(in);
        }
        if (TfIndexFooter.hasMagic(in)) {
            return tfIndex(in);
        }
        if (Hdf5Superblock.findSignature(in) > 0) {
            return hdf5(in);
        }
        String text = decodeText(head, head.length == size);
        if (text != null) {
            return text(in, text);
        }
        return byExtension(in, head, ext);
    }

    private static Probe zip(PositionalReader in, byte[] head, String ext) throws IOException {
        ZipCentralDirectory cd = ZipCentralDirectory.read(in);
        List<String> names = cd.entryNames();
        ContentType type = zipType(names, head, ext);
        List<String> problems = new ArrayList<>(cd.problems());
        TorchMetadata torch = null;
        if (type == ContentType.TORCH_ZIP && cd.intact()) {
            Optional<ZipCentralDirectory.Entry> pickle =
                    cd.entries().stream().filter(e -> TORCH_PICKLE.matcher(e.name()).matches()).findFirst();
            try {
                Optional<byte[]> bytes = cd.readEntry(in, pickle.orElseThrow(), MAX_PICKLE_BYTES);
                if (bytes.isPresent()) {
                    torch = TorchMetadata.fromPickle(new PickleReader(bytes.get()).next(), names);
                }
            } catch (ZipException e) {
                problems.add(e.getMessage());
            } catch (PickleException e) {
                // the archive is sound; a pickle we cannot interpret only means no metadata
            }
        }
        return new Probe(type, in.size(), problems, torch);
    }

    private static ContentType zipType(List<String> names, byte[] head, String ext) {
        if (!names.isEmpty()) {
            if (names.stream().anyMatch(n -> TORCH_PICKLE.matcher(n).matches())) {
                return ContentType.TORCH_ZIP;
            }
            if (names.contains("config.json") && (names.contains("model.weights.h5")
                    || names.contains("metadata.json") || names.contains("model.weights.npz"))) {
                return ContentType.KERAS_ZIP;
            }
            return ContentType.ZIP;
        }
        // No directory to list (truncated): the first local header still names the first entry.
        if (head.length >= 30 && startsWith(head, 0, ZipCentralDirectory.LOCAL_HEADER)) {
            int n = u16(head, 26);
            if (30 + n <= head.length
                    && TORCH_PICKLE.matcher(new String(head, 30, n, StandardCharsets.UTF_8)).matches()) {
                return ContentType.TORCH_ZIP;
            }
        }
        if (ext.equals("keras")) {
            return ContentType.KERAS_ZIP;
        }
        return TORCH_EXTENSIONS.contains(ext) ? ContentType.TORCH_ZIP : ContentType.ZIP;
    }

    private static Probe pickle(PositionalReader in, byte[] head) throws IOException {
        long size = in.size();
        if (LegacyTorchFile.startsWithMagic(head)) {
            LegacyTorchFile.Reading r = LegacyTorchFile.read(in);
            return new Probe(ContentType.TORCH_LEGACY, size, r.problems(), r.torch());
        }
        String cut = "pickle ends before its STOP opcode (file truncated?)";
        if (head.length == size && LegacyTorchFile.isCutMagic(head)) {
            return new Probe(ContentType.TORCH_LEGACY, size, List.of("torch legacy " + cut), null);
        }
        List<String> problems = new ArrayList<>();
        if (size <= MAX_PICKLE_BYTES) {
            try {
                new PickleReader(in.read(0, (int) size)).next();
            } catch (PickleTruncatedException e) {
                problems.add(cut);
            } catch (PickleException e) {
                // not interpretable by us, which says nothing about the file
            }
        }
        return new Probe(ContentType.PICKLE, size, problems, null);
    }

    private static Probe safetensors(PositionalReader in) throws IOException {
        return new Probe(ContentType.SAFETENSORS, in.size(), SafetensorsHeader.read(in).problems(), null);
    }

    private static Probe hdf5(PositionalReader in) throws IOException {
        return new Probe(ContentType.HDF5, in.size(), Hdf5Superblock.read(in).problems(), null);
    }

    private static Probe tfIndex(PositionalReader in) throws IOException {
        return new Probe(ContentType.TF_INDEX, in.size(), TfIndexFooter.read(in).problems(), null);
    }

    private static Probe text(PositionalReader in, String text) throws IOException {
        long size = in.size();
        if (text.startsWith("version https://git-lfs.github.com/spec/")
                || text.startsWith("version https://hawser.github.com/spec/")) {
            return new Probe(ContentType.LFS_POINTER, size, List.of(), null);
        }
        String lead = text.stripLeading();
        String lower = lead.substring(0, Math.min(lead.length(), 16)).toLowerCase(Locale.ROOT);
        if (lower.startsWith("<!doctype html") || lower.startsWith("<html")) {
            return new Probe(ContentType.HTML, size, List.of(), null);
        }
        if (lead.startsWith("{") || lead.startsWith("[")) {
            List<String> problems = new ArrayList<>();
            if (size <= MAX_JSON_CHECK) {
                try {
                    JSON.readTree(in.read(0, (int) size));
                } catch (JacksonException e) {
                    JsonLocation at = e.getLocation();
                    problems.add("JSON does not parse: " + e.getOriginalMessage()
                            + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()));
                }
            }
            return new Probe(ContentType.JSON, size, problems, null);
        }
        return new Probe(ContentType.TEXT, size, List.of(), null);
    }

    /** Content we do not recognise is a fault only where the name promises a format we would recognise. */
    private static Probe byExtension(PositionalReader in, byte[] head, String ext) throws IOException {
        return switch (ext) {
            case "safetensors" -> safetensors(in);
            case "h5", "hdf5" -> hdf5(in);
            case "index" -> tfIndex(in);
            case "keras" -> zip(in, head, ext);
            default -> {
                if (TORCH_EXTENSIONS.contains(ext)) {
                    String start = HexFormat.ofDelimiter(" ").formatHex(head, 0, Math.min(8, head.length));
                    yield new Probe(ContentType.UNKNOWN, in.size(), List.of("content of this ." + ext
                            + " file is neither a zip nor a torch pickle (starts with " + start + ")"), null);
                }
                yield new Probe(ContentType.UNKNOWN, in.size(), List.of(), null);
            }
        };
    }

    /**
     * Returns {@code head} decoded as UTF-8 text (without a byte-order mark), or null when it looks
     * binary: a NUL, invalid UTF-8, or more than a few control characters.
     */
    static String decodeText(byte[] head, boolean wholeFile) {
        int start = startsWith(head, 0, new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf}) ? 3 : 0;
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars = CharBuffer.allocate(head.length);
        // Without end-of-input, a multi-byte character cut by the head's end is left undecoded, not an error.
        CoderResult r = decoder.decode(ByteBuffer.wrap(head, start, head.length - start), chars, wholeFile);
        if (r.isError() || wholeFile && decoder.flush(chars).isError()) {
            return null;
        }
        chars.flip();
        String s = chars.toString();
        int controls = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) {
                return null;
            }
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x0b && c != 0x1b) {
                controls++;
            }
        }
        return controls * 100 > s.length() ? null : s;
    }

    private static String extension(Path file) {
        Path name = file.getFileName();
        if (name == null) {
            return "";
        }
        String n = name.toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
