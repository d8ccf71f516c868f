package dev.ckptwarden.enforce;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.policy.PolicyChange;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code policy-change.json} in the state directory: the evictions a configuration change brought and
 * when each may happen. The agent writes it (atomically: a reader sees the old file or the new one) on
 * every change; {@code plan}, {@code enforce} and {@code /api/v1/plan}, which may run in other
 * processes, read it. Opened without following links; absent means nothing waits.
 */
public final class PolicyChangeFile {
    public static final String NAME = "policy-change.json";
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private PolicyChangeFile() {
    }

    /**
     * The waiting evictions recorded in {@code stateDir}, their times printed in {@code zone}.
     *
     * @throws IOException naming the file when it cannot be read or is not what the agent writes
     */
    public static PolicyChange read(Path stateDir, ZoneId zone) throws IOException {
        Path file = stateDir.resolve(NAME);
        JsonNode doc;
        try (InputStream in = Files.newInputStream(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            doc = JSON.readTree(in);
        } catch (NoSuchFileException e) {
            return new PolicyChange(Map.of(), zone);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (FileSystemException e) {
            throw new IOException(file + ": " + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName()), e);
        }
        JsonNode entries = doc == null ? null : doc.get("not_before");
        if (entries == null || !entries.isObject()) {
            throw new IOException(file + ": no \"not_before\" object");
        }
        Map<String, Instant> notBefore = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = entries.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            try {
                notBefore.put(e.getKey(), Instant.parse(e.getValue().asText()));
            } catch (DateTimeException ex) {
                throw new IOException(file + ": not_before of " + e.getKey() + " is not an instant: '"
                        + e.getValue().asText() + "'", ex);
            }
        }
        return new PolicyChange(notBefore, zone);
    }

    /** Replaces the file with {@code notBefore} (removes it when empty), written at {@code now}. */
    public static void write(Path stateDir, Map<String, Instant> notBefore, Instant now) throws IOException {
        Path file = stateDir.resolve(NAME);
        if (notBefore.isEmpty()) {
            Files.deleteIfExists(file);
            return;
        }
        ObjectNode doc = JSON.createObjectNode();
        doc.put("written_at", now.toString());
        ObjectNode entries = doc.putObject("not_before");
        notBefore.forEach((path, at) -> entries.put(path, at.toString()));
        Path temporary = stateDir.resolve("." + NAME + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            Files.deleteIfExists(temporary);
            try (OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                JSON.writeValue(out, doc);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            throw new IOException("cannot write " + file + ": " + (e instanceof FileSystemException fs && fs.getReason() != null
                    ? fs.getReason() : e.getClass().getSimpleName() + " " + e.getMessage()), e);
        }
    }
}
