package dev.ckptwarden.catalog.layout;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import dev.ckptwarden.catalog.integrity.FileSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads small JSON sidecars (trainer_state.json, Orbax metadata) with a size cap. */
final class JsonFiles {
    /** Sidecars larger than this are not metadata; refuse rather than read gigabytes. */
    static final long MAX_SIDECAR_BYTES = 64L << 20;

    // Python's json module writes NaN and Infinity, and so do trainers.
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(JsonParser.Feature.ALLOW_COMMENTS)
            .build();

    private JsonFiles() {
    }

    static JsonNode read(FileSource source, Path file) throws IOException {
        if (source != FileSource.LOCAL) {
            JsonNode node = MAPPER.readTree(source.readSmall(file, MAX_SIDECAR_BYTES));
            if (node == null || node.isMissingNode()) {
                throw new IOException(file.getFileName() + " is empty");
            }
            return node;
        }
        long size = Files.size(file);
        if (size > MAX_SIDECAR_BYTES) {
            throw new IOException(file.getFileName() + " is " + size + " bytes, too large for a metadata file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            JsonNode node = MAPPER.readTree(in);
            if (node == null || node.isMissingNode()) {
                throw new IOException(file.getFileName() + " is empty");
            }
            return node;
        }
    }

    /** Numeric fields of an object, in order, NaN/Infinity included. */
    static Map<String, Double> numbers(JsonNode object) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (object == null || !object.isObject()) {
            return out;
        }
        Iterator<Map.Entry<String, JsonNode>> it = object.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getValue().isNumber()) {
                out.put(f.getKey(), f.getValue().asDouble());
            }
        }
        return out;
    }
}
