package dev.ckptwarden.catalog.integrity;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.CharConversionException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks a sharded checkpoint's index: every shard it names must exist beside it, pass its own
 * header check, and hold the tensors the index places in it. Reads the index and each shard's
 * header only.
 */
public final class ShardIndexCheck {

    /** Missing shards are listed one per line up to this many; the rest are counted in one line. */
    static final int MAX_LISTED_MISSING = 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A remote index is read whole; indexes of the largest models are a few MiB. */
    private static final long MAX_REMOTE_INDEX_BYTES = 64L << 20;

    private ShardIndexCheck() {
    }

    /**
     * Reads {@code indexJson} and checks the shards in its directory. A malformed index is reported
     * as a problem, not thrown.
     *
     * @throws IOException when the index or a shard cannot be read at all
     */
    public static ShardIndex read(Path indexJson) throws IOException {
        return read(FileSource.LOCAL, indexJson);
    }

    /** As {@link #read(Path)}, reading the index and the shards' headers from {@code source}. */
    public static ShardIndex read(FileSource source, Path indexJson) throws IOException {
        String indexName = String.valueOf(indexJson.getFileName());
        JsonNode root;
        try {
            root = JSON.readTree(source == FileSource.LOCAL ? Files.readAllBytes(indexJson)
                    : source.readSmall(indexJson, MAX_REMOTE_INDEX_BYTES));
        } catch (JacksonException e) {
            return new ShardIndex(List.of(), List.of(indexName + " does not parse as JSON: " + e.getOriginalMessage()));
        } catch (CharConversionException e) {
            // leading NULs make Jackson guess UTF-32 and fail before parsing: not JSON, not an unreadable file
            return new ShardIndex(List.of(), List.of(indexName + " does not parse as JSON: " + e.getMessage()));
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            return new ShardIndex(List.of(), List.of(indexName + " has no weight_map"));
        }
        Map<String, List<String>> tensorsByShard = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            tensorsByShard.computeIfAbsent(e.getValue().asText(), k -> new ArrayList<>()).add(e.getKey());
        }

        Path dir = indexJson.toAbsolutePath().normalize().getParent();
        List<String> problems = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : tensorsByShard.entrySet()) {
            String shard = e.getKey();
            Path file = dir.resolve(shard).normalize();
            if (shard.isEmpty() || !file.startsWith(dir) || file.equals(dir)) {
                problems.add("shard name '" + shard + "' in " + indexName + " points outside its directory");
                continue;
            }
            if (source == FileSource.LOCAL ? !Files.isRegularFile(file) : source.typeOf(file, true) != FileSource.Kind.FILE) {
                missing.add(shard);
                continue;
            }
            checkShard(source, shard, file, e.getValue(), problems);
        }
        for (int i = 0; i < Math.min(missing.size(), MAX_LISTED_MISSING); i++) {
            problems.add("shard " + missing.get(i) + " named by " + indexName + " is missing");
        }
        if (missing.size() > MAX_LISTED_MISSING) {
            problems.add((missing.size() - MAX_LISTED_MISSING) + " more shards named by " + indexName
                    + " are missing (" + missing.size() + " of " + tensorsByShard.size() + " in all)");
        }
        return new ShardIndex(new ArrayList<>(tensorsByShard.keySet()), problems);
    }

    private static void checkShard(FileSource source, String shard, Path file, List<String> tensors, List<String> problems)
            throws IOException {
        Probe probe = FileProbe.probe(source, file);
        if (probe.notACheckpoint()) {
            problems.add("shard " + shard + ": " + probe.notACheckpointReason());
            return;
        }
        for (String p : probe.problems()) {
            problems.add("shard " + shard + ": " + p);
        }
        if (!probe.intact()) {
            return;
        }
        Set<String> held = null;
        if (probe.type() == ContentType.SAFETENSORS) {
            held = SafetensorsHeader.read(source, file).tensorNames();
        } else if (probe.torch() != null && !probe.torch().topLevelKeys().isEmpty()) {
            held = probe.torch().topLevelKeys();
        }
        if (held == null) {
            return;
        }
        Set<String> holds = held;
        List<String> absent = tensors.stream().filter(t -> !holds.contains(t)).toList();
        if (!absent.isEmpty()) {
            problems.add("shard " + shard + " lacks " + absent.size() + " of the " + tensors.size()
                    + " tensors the index places in it (first: '" + absent.get(0) + "')");
        }
    }
}
