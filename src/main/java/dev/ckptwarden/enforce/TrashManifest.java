package dev.ckptwarden.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What one trash entry holds, written (and forced to disk) before the first rename so that a
 * restart can tell which eviction the entry belongs to, record it, and finish a multi-file move that
 * a crash interrupted. Stored as one JSON line of a manifest file {@code <trash>/<file id>.manifest.json}
 * (one line per eviction of a batch), beside the entry's members {@code <trash>/<id>.<i>}.
 *
 * <p>Each line is {@code <hmac> <json>}: the HMAC-SHA256 of the JSON under the state directory's
 * {@link ManifestKey}. A root's trash can be reached by other users of a shared root, so a line is
 * used only when its HMAC verifies and its names stay where they belong: the parent a relative path
 * without {@code .}/{@code ..}, each member one plain name, the id a plain id.
 *
 * @param parent  the directory the members came from, relative to the root ("" for the root itself)
 * @param members each member as it was just before the move; a restart moves a member still in
 *                place only if it is still exactly this (same type, size, mtime, contents summary)
 * @param bytes   the checkpoint's size just before the move
 */
record TrashManifest(
        String id,
        String root,
        String run,
        String path,
        String parent,
        List<EntrySnapshot> members,
        long bytes,
        EvictionCause reason,
        Action action,
        Instant started) {

    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final int VERSION = 1;

    TrashManifest {
        members = List.copyOf(members);
    }

    /** The manifest's line, signed with {@code key}. */
    byte[] toBytes(ManifestKey key) throws IOException {
        String json = json();
        return (key.sign(json) + " " + json + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The manifest as one line of JSON, without its line end. */
    String json() throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("version", VERSION);
        n.put("id", id);
        n.put("root", root);
        n.put("run", run);
        n.put("path", path);
        n.put("parent", parent);
        ArrayNode arr = n.putArray("members");
        for (EntrySnapshot m : members) {
            ObjectNode o = arr.addObject();
            o.put("name", m.name());
            o.put("type", m.type().name().toLowerCase(Locale.ROOT));
            o.put("bytes", m.bytes());
            o.put("modified_ms", m.modifiedMillis());
            if (m.contents() != null) {
                o.put("contents", m.contents());
            }
        }
        n.put("bytes", bytes);
        n.put("reason", reason.id());
        n.put("action", action.id());
        n.put("started", started.toString());
        return JSON.writeValueAsString(n);
    }

    /**
     * The manifests of one manifest file: one per line (a batch of evictions shares a file; a single
     * eviction's file has one line).
     *
     * @throws IOException when any line is not a complete manifest of a version this build reads
     */
    static List<TrashManifest> parseAll(byte[] bytes, ManifestKey key) throws IOException {
        List<TrashManifest> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                if (i > start) {
                    out.add(verified(new String(bytes, start, i - start, StandardCharsets.UTF_8), key));
                }
                start = i + 1;
            }
        }
        if (out.isEmpty()) {
            throw new IOException("empty trash manifest");
        }
        return out;
    }

    private static TrashManifest verified(String line, ManifestKey key) throws IOException {
        int space = line.indexOf(' ');
        if (space < 0 || !key.verifies(line.substring(space + 1), line.substring(0, space))) {
            throw new IOException("not written by this agent (no valid signature under its manifest key: "
                    + ManifestKey.FILE_NAME + ", or the shared registry's in cluster mode)");
        }
        return parse(line.substring(space + 1).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Parses one manifest's JSON and checks that its names cannot leave their directories.
     *
     * @throws IOException when the bytes are not a complete, well-formed manifest of a version this build reads
     */
    static TrashManifest parse(byte[] bytes) throws IOException {
        JsonNode n = JSON.readTree(bytes);
        if (n == null || !n.isObject() || n.path("version").asInt() != VERSION) {
            throw new IOException("not a version " + VERSION + " trash manifest");
        }
        List<EntrySnapshot> members = new ArrayList<>();
        for (JsonNode m : n.path("members")) {
            members.add(new EntrySnapshot(required(m, "name"),
                    Entry.Type.valueOf(required(m, "type").toUpperCase(Locale.ROOT)), m.path("bytes").asLong(),
                    m.path("modified_ms").asLong(), m.hasNonNull("contents") ? m.get("contents").asText() : null));
        }
        if (members.isEmpty()) {
            throw new IOException("trash manifest lists no members");
        }
        for (EntrySnapshot m : members) {
            if (!plainName(m.name())) {
                throw new IOException("member name '" + printable(m.name()) + "' is not one plain file name");
            }
        }
        String parent = required(n, "parent");
        if (!relativePath(parent)) {
            throw new IOException("parent '" + printable(parent) + "' is not a path below the root");
        }
        String id = required(n, "id");
        if (!id.matches("[0-9A-Za-z_-]{1,128}")) {
            throw new IOException("id '" + printable(id) + "' is not an eviction id");
        }
        try {
            return new TrashManifest(required(n, "id"), required(n, "root"), n.path("run").asText(null),
                    required(n, "path"), required(n, "parent"), members, n.path("bytes").asLong(),
                    EvictionCause.ofId(required(n, "reason")),
                    Action.valueOf(required(n, "action").toUpperCase(Locale.ROOT)), Instant.parse(required(n, "started")));
        } catch (RuntimeException e) {
            throw new IOException("bad trash manifest: " + e.getMessage(), e);
        }
    }

    /** One path component: not empty, not {@code .} or {@code ..}, no {@code /}, no NUL. */
    static boolean plainName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\0') < 0;
    }

    /** "" (the root itself) or plain names joined by single {@code /}s: relative, normalized, no {@code ..}. */
    static boolean relativePath(String path) {
        if (path.isEmpty()) {
            return true;
        }
        for (String part : path.split("/", -1)) {
            if (!plainName(part)) {
                return false;
            }
        }
        return true;
    }

    private static String printable(String s) {
        return s.replace("\0", "\\0");
    }

    private static String required(JsonNode n, String field) throws IOException {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IOException("trash manifest lacks '" + field + "'");
        }
        return v.asText();
    }
}
