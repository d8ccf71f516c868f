package dev.ckptwarden.offload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * What an offloaded checkpoint consists of, written beside it on the target as
 * {@code <name>.ckpt-warden.json} after every file has been copied and verified: the manifest's
 * presence is what marks an offload as complete. Restore reads it back, and checks it against the
 * checksum the registry recorded.
 *
 * <p>The checkpoint's {@code sha256}: for a checkpoint that is one file, that file's SHA-256 (what
 * {@code sha256sum FILE} prints); otherwise the SHA-256 of the {@code sha256sum}-style listing of its
 * files, {@code "<hex>  <path>\n"} per file, sorted by path bytes, paths relative to the directory
 * holding the checkpoint. Reproducible by hand from that directory:
 * {@code find checkpoint-500 -type f | LC_ALL=C sort | xargs sha256sum | sha256sum}.
 *
 * @param path    the checkpoint's path relative to its root
 * @param entries files and directories, each directory before what it holds; paths relative to the
 *                directory holding the checkpoint
 */
public record OffloadManifest(String root, String path, String kind, String sha256, long bytes, int files,
                              List<Entry> entries) {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final int VERSION = 1;

    /** One file or directory; {@code sha256} is null for a directory. */
    public record Entry(String path, boolean directory, long bytes, String sha256, long modifiedMillis) {
    }

    public OffloadManifest {
        entries = List.copyOf(entries);
    }

    /** A manifest over entries whose digests are known. */
    public static OffloadManifest of(String root, String path, String kind, List<Entry> entries) {
        long bytes = entries.stream().mapToLong(Entry::bytes).sum();
        int files = (int) entries.stream().filter(e -> !e.directory()).count();
        return new OffloadManifest(root, path, kind, digest(entries), bytes, files, entries);
    }

    /** The checkpoint's sha256 by the rule in the class comment. */
    public static String digest(List<Entry> entries) {
        List<Entry> files = new ArrayList<>(entries.stream().filter(e -> !e.directory()).toList());
        if (entries.size() == 1 && files.size() == 1) {
            return files.get(0).sha256();
        }
        files.sort((a, b) -> Arrays.compareUnsigned(a.path().getBytes(StandardCharsets.UTF_8),
                b.path().getBytes(StandardCharsets.UTF_8)));
        MessageDigest md = newDigest();
        for (Entry f : files) {
            md.update((f.sha256() + "  " + f.path() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** True when both name the same files with the same sizes and contents (times aside). */
    public boolean sameContent(OffloadManifest other) {
        if (!Objects.equals(sha256, other.sha256) || entries.size() != other.entries.size()) {
            return false;
        }
        for (int i = 0; i < entries.size(); i++) {
            Entry a = entries.get(i);
            Entry b = other.entries.get(i);
            if (!a.path().equals(b.path()) || a.directory() != b.directory() || a.bytes() != b.bytes()
                    || !Objects.equals(a.sha256(), b.sha256())) {
                return false;
            }
        }
        return true;
    }

    public byte[] toBytes() throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("version", VERSION);
        n.put("root", root);
        n.put("path", path);
        n.put("kind", kind);
        n.put("sha256", sha256);
        n.put("bytes", bytes);
        n.put("files", files);
        ArrayNode arr = n.putArray("entries");
        for (Entry e : entries) {
            ObjectNode o = arr.addObject();
            o.put("path", e.path());
            o.put("type", e.directory() ? "directory" : "file");
            if (!e.directory()) {
                o.put("bytes", e.bytes());
                o.put("sha256", e.sha256());
            }
            o.put("modified_ms", e.modifiedMillis());
        }
        return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** @throws IOException when the bytes are not a manifest this build reads, or contradict themselves */
    public static OffloadManifest parse(byte[] bytes, String shown) throws IOException {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new IOException(shown + ": not a ckpt-warden offload manifest (" + e.getMessage() + ")");
        }
        if (n == null || !n.isObject() || n.path("version").asInt() != VERSION) {
            throw new IOException(shown + ": not a version " + VERSION + " ckpt-warden offload manifest");
        }
        List<Entry> entries = new ArrayList<>();
        for (JsonNode e : n.path("entries")) {
            String path = e.path("path").asText("");
            if (path.isEmpty() || path.startsWith("/") || Arrays.asList(path.split("/")).contains("..")) {
                throw new IOException(shown + ": unsafe entry path '" + path + "'");
            }
            boolean dir = "directory".equals(e.path("type").asText());
            entries.add(new Entry(path, dir, dir ? 0 : e.path("bytes").asLong(), dir ? null : e.path("sha256").asText(null),
                    e.path("modified_ms").asLong()));
        }
        if (entries.isEmpty()) {
            throw new IOException(shown + ": manifest lists no files");
        }
        OffloadManifest m = new OffloadManifest(n.path("root").asText(null), n.path("path").asText(null),
                n.path("kind").asText(null), n.path("sha256").asText(null), n.path("bytes").asLong(),
                n.path("files").asInt(), entries);
        if (!Objects.equals(m.sha256, digest(entries))) {
            throw new IOException(shown + ": manifest's sha256 does not match the files it lists");
        }
        return m;
    }
}
