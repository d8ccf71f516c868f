package dev.ckptwarden.registry;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The registry as {@code registry.json}, the team format of SPEC "Registry export":
 * {@code {"models": {"<root>": {"<run>/<name>": {"path", "added", "step", "epoch", "metrics", "bytes", "state"}}}}}.
 *
 * <p>Every checkpoint ever registered is exported, deleted and offloaded ones included ({@code state}
 * says which). Roots, then entries, follow the registry's listing order (run, step, epoch, modified,
 * name), so the same registry always gives the same bytes. A checkpoint of the root itself (run
 * {@code "."}) is keyed by its name alone. {@code added} is {@code firstSeen} in UTC without zone,
 * to the second ({@code 2024-01-09T10:00:00}). Metric values that JSON cannot hold are written as
 * the strings {@code "NaN"}, {@code "Infinity"} and {@code "-Infinity"}, which every standard JSON
 * parser accepts and Python's {@code float()} reads back.
 */
public final class RegistryExport {

    /** The file name the contract gives the export. */
    public static final String FILE_NAME = "registry.json";

    private static final DateTimeFormatter ADDED = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss");
    private static final ObjectWriter WRITER = new ObjectMapper()
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
            .writerWithDefaultPrettyPrinter();

    /** The order of {@link Registry#list}: root, run, step, epoch, modified (missing first), name, path. */
    static final Comparator<Registered> LISTING_ORDER = Comparator
            .comparing(Registered::root)
            .thenComparing(Registered::run)
            .thenComparing(Registered::step, Comparator.nullsFirst(Comparator.<Long>naturalOrder()))
            .thenComparing(Registered::epoch, Comparator.nullsFirst(Comparator.<Integer>naturalOrder()))
            .thenComparing(Registered::modified, Comparator.nullsFirst(Comparator.<Instant>naturalOrder()))
            .thenComparing(Registered::name)
            .thenComparing(checkpoint -> checkpoint.path().toString());

    private final Registry registry;

    public RegistryExport(Registry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** The export document of everything the registry holds, history included. */
    public ObjectNode document() {
        return document(registry.list(null, null, true));
    }

    /** Writes the document, pretty-printed and ending in a newline, to {@code out} (left open). */
    public void writeTo(OutputStream out) throws IOException {
        WRITER.writeValue(out, document());
        out.write('\n');
        out.flush();
    }

    /**
     * Writes the document to {@code file}, replacing it atomically: a reader sees the old export or
     * the new one, never half of one.
     *
     * @throws IOException naming the file when it cannot be written
     */
    public void writeTo(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path temporary = target.resolveSibling("." + target.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                writeTo(out);
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            String reason = e instanceof FileSystemException fs && fs.getReason() != null
                    ? fs.getReason() : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
            throw new IOException("cannot write registry export " + target + ": " + reason, e);
        }
    }

    /** The export document of these checkpoints, in the registry's listing order whatever their order here. */
    public static ObjectNode document(Collection<Registered> checkpoints) {
        List<Registered> ordered = new ArrayList<>(checkpoints);
        ordered.sort(LISTING_ORDER);
        ObjectNode models = JsonNodeFactory.instance.objectNode();
        for (Registered checkpoint : ordered) {
            ObjectNode root = models.has(checkpoint.root())
                    ? (ObjectNode) models.get(checkpoint.root())
                    : models.putObject(checkpoint.root());
            String key = key(checkpoint);
            if (root.has(key)) {
                throw new IllegalStateException("two checkpoints export under " + checkpoint.root() + " / " + key
                        + ": " + root.get(key).get("path").asText() + " and " + checkpoint.path());
            }
            root.set(key, entry(checkpoint));
        }
        ObjectNode document = JsonNodeFactory.instance.objectNode();
        document.set("models", models);
        return document;
    }

    /** The key of a checkpoint within its root: {@code run/name}, or the name alone for run {@code "."}. */
    public static String key(Registered checkpoint) {
        return ".".equals(checkpoint.run()) || checkpoint.run().isEmpty()
                ? checkpoint.name()
                : checkpoint.run() + "/" + checkpoint.name();
    }

    private static ObjectNode entry(Registered checkpoint) {
        ObjectNode entry = JsonNodeFactory.instance.objectNode();
        entry.put("path", checkpoint.location());
        entry.put("added", added(checkpoint.firstSeen()));
        entry.put("step", checkpoint.step());
        entry.put("epoch", checkpoint.epoch());
        entry.set("metrics", MetricsJson.toNode(checkpoint.metrics()));
        entry.put("bytes", checkpoint.bytes());
        entry.put("state", checkpoint.state().id());
        return entry;
    }

    private static String added(Instant firstSeen) {
        return firstSeen == null ? null
                : ADDED.format(LocalDateTime.ofInstant(firstSeen, ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS));
    }
}
