package dev.ckptwarden.catalog.integrity;

import static dev.ckptwarden.catalog.integrity.LittleEndian.u64;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.CharConversionException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The header of a {@code .safetensors} file: an 8-byte little-endian length, then that many bytes of
 * JSON naming each tensor's dtype, shape and {@code data_offsets} into the data that follows. The
 * file is intact when its length is exactly 8 + header length + the largest data offset, which is
 * what a reader can check without touching the data.
 *
 * @param headerLength the JSON header's length as the first 8 bytes state it (-1 if the file is shorter than 8 bytes)
 * @param tensors      tensor name to its entry, in header order (empty when the header is unreadable)
 * @param metadata     the {@code __metadata__} string map
 * @param dataLength   the largest {@code data_offsets} end: how many data bytes the header describes
 * @param fileLength   the file's actual length
 * @param problems     integrity findings; empty when intact
 */
public record SafetensorsHeader(long headerLength, Map<String, Tensor> tensors, Map<String, String> metadata,
        long dataLength, long fileLength, List<String> problems) {

    /** One tensor entry of the header; {@code begin} and {@code end} are offsets into the data section. */
    public record Tensor(String dtype, List<Long> shape, long begin, long end) {
        public Tensor {
            shape = List.copyOf(shape);
        }
    }

    /** The safetensors library refuses headers this large or larger. */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Integer> DTYPE_BITS = Map.ofEntries(
            Map.entry("BOOL", 8), Map.entry("U8", 8), Map.entry("I8", 8), Map.entry("F8_E5M2", 8),
            Map.entry("F8_E4M3", 8), Map.entry("F8_E8M0", 8), Map.entry("I16", 16), Map.entry("U16", 16),
            Map.entry("F16", 16), Map.entry("BF16", 16), Map.entry("I32", 32), Map.entry("U32", 32),
            Map.entry("F32", 32), Map.entry("I64", 64), Map.entry("U64", 64), Map.entry("F64", 64),
            Map.entry("C64", 64), Map.entry("F4", 4), Map.entry("F6_E2M3", 6), Map.entry("F6_E3M2", 6));

    public SafetensorsHeader {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        problems = List.copyOf(problems);
    }

    public boolean intact() {
        return problems.isEmpty();
    }

    public Set<String> tensorNames() {
        return tensors.keySet();
    }

    /** The length the header implies for the whole file: 8 + header length + largest data offset. */
    public long expectedFileLength() {
        return 8 + Math.max(0, headerLength) + dataLength;
    }

    /** Reads and checks the header of {@code file}; reads only the first 8 + header length bytes. */
    public static SafetensorsHeader read(Path file) throws IOException {
        try (PositionalReader in = PositionalReader.open(file)) {
            return read(in);
        }
    }

    /** As {@link #read(Path)}, reading {@code file} from {@code source}. */
    public static SafetensorsHeader read(FileSource source, Path file) throws IOException {
        try (PositionalReader in = PositionalReader.open(source, file)) {
            return read(in);
        }
    }

    /** True when {@code head} (the file's first bytes) begins the way a safetensors file does. */
    static boolean looksLike(byte[] head) {
        if (head.length < 10 || head[8] != '{') {
            return false;
        }
        long n = u64(head, 0);
        return n >= 2 && n < MAX_HEADER_LENGTH;
    }

    static SafetensorsHeader read(PositionalReader in) throws IOException {
        long size = in.size();
        if (size < 8) {
            return broken(-1, size,
                    "safetensors file shorter than its 8-byte header length field (" + size + " bytes)");
        }
        long n = u64(in.read(0, 8), 0);
        if (n < 0 || n >= MAX_HEADER_LENGTH) {
            return broken(n, size, "safetensors header length " + Long.toUnsignedString(n)
                    + " exceeds the format's limit of " + MAX_HEADER_LENGTH + " bytes");
        }
        if (n > size - 8) {
            return broken(n, size,
                    "safetensors header cut short: " + (size - 8) + " of " + n + " bytes (file truncated?)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(in.read(8, (int) n));
        } catch (JacksonException e) {
            return broken(n, size, "safetensors header is not valid JSON: " + e.getOriginalMessage());
        } catch (CharConversionException e) {
            // Jackson guesses the encoding from the first bytes (leading NULs look like UTF-32) and gives up
            return broken(n, size, "safetensors header is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            return broken(n, size, "safetensors header is not a JSON object");
        }
        List<String> problems = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode v = field.getValue();
            if (name.equals("__metadata__")) {
                if (v.isObject()) {
                    v.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                }
                continue;
            }
            Tensor t = tensor(name, v, problems);
            if (t != null) {
                tensors.put(name, t);
            }
        }
        long dataLength = tensors.values().stream().mapToLong(Tensor::end).max().orElse(0);
        checkLayout(tensors, problems);
        long data = size - 8 - n;
        if (data < dataLength) {
            problems.add("safetensors data shorter than header says: " + data + " of " + dataLength + " bytes");
        } else if (data > dataLength) {
            problems.add("safetensors file has " + (data - dataLength) + " bytes after the data its header describes");
        }
        return new SafetensorsHeader(n, tensors, metadata, dataLength, size, problems);
    }

    private static Tensor tensor(String name, JsonNode v, List<String> problems) {
        JsonNode offsets = v.path("data_offsets");
        if (!v.isObject() || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToExactIntegral()
                || !offsets.get(1).canConvertToExactIntegral() || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong()) {
            problems.add("safetensors tensor '" + name + "' has no valid data_offsets");
            return null;
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            problems.add("safetensors tensor '" + name + "' has data_offsets [" + begin + ", " + end + "]");
            return null;
        }
        List<Long> shape = new ArrayList<>();
        for (JsonNode d : v.path("shape")) {
            shape.add(d.asLong());
        }
        String dtype = v.path("dtype").asText();
        Integer bits = DTYPE_BITS.get(dtype);
        if (bits != null) {
            try {
                long count = 1;
                for (long d : shape) {
                    count = Math.multiplyExact(count, d);
                }
                long needBits = Math.multiplyExact(count, bits);
                if (needBits % 8 != 0 || needBits / 8 != end - begin) {
                    String need = needBits % 8 == 0 ? Long.toString(needBits / 8) : needBits + " bits";
                    problems.add("safetensors tensor '" + name + "' spans " + (end - begin) + " bytes but dtype "
                            + dtype + " and shape " + shape + " need " + need);
                }
            } catch (ArithmeticException e) {
                problems.add("safetensors tensor '" + name + "' has an impossibly large shape " + shape);
            }
        }
        return new Tensor(dtype, shape, begin, end);
    }

    /** The library rejects files whose tensors leave gaps or overlap: data must tile [0, max end). */
    private static void checkLayout(Map<String, Tensor> tensors, List<String> problems) {
        List<Map.Entry<String, Tensor>> byOffset = new ArrayList<>(tensors.entrySet());
        byOffset.sort(Comparator.comparingLong((Map.Entry<String, Tensor> e) -> e.getValue().begin())
                .thenComparingLong(e -> e.getValue().end()));
        long expected = 0;
        for (Map.Entry<String, Tensor> e : byOffset) {
            if (e.getValue().begin() != expected) {
                problems.add("safetensors tensor '" + e.getKey() + "' starts at data offset " + e.getValue().begin()
                        + " where " + expected + " was expected (gap or overlap)");
                return;
            }
            expected = e.getValue().end();
        }
    }

    private static SafetensorsHeader broken(long headerLength, long size, String problem) {
        return new SafetensorsHeader(headerLength, Map.of(), Map.of(), 0, size, List.of(problem));
    }
}
