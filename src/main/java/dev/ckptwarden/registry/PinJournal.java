package dev.ckptwarden.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The second record of the user's pins: {@code <state_dir>/pins.jsonl}, one JSON object per line,
 * appended and forced to disk, never rewritten, so pins survive the loss of {@code registry.db}. The
 * first line is a header written when the journal is created; a journal without it (absent, or cut to
 * 0 bytes) is no record at all, which is what lets an empty registry tell "nobody ever pinned" from
 * "the pins were lost". Then one line per pin or unpin: {@code {"time", "action": "pin"|"unpin", "path",
 * "reason"}}; the last line for a path wins.
 *
 * <p>Kept apart from the audit log on purpose: the audit log is rotated (a pin would leave with an old
 * file) and belongs to enforcement, while pins are registry state read at every open. The file is opened
 * without following links; a last line torn by a crash is cut off on open, under a file lock that every
 * append also takes, so a line another process is writing is never mistaken for a torn one.
 */
public final class PinJournal {
    /** The file's name inside {@code state_dir}. */
    public static final String FILE_NAME = "pins.jsonl";

    /** A pin as journaled: why, and when it was made. */
    public record Pin(String reason, Instant at) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(PinJournal.class);
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final String HEADER_KIND = "ckpt-warden pin journal";
    /** File locks are held per JVM, not per channel: threads of one JVM queue here first. */
    private static final Map<Path, Object> IN_PROCESS = new ConcurrentHashMap<>();

    private final Path file;
    private final Clock clock;
    private final Object monitor;
    /** Pins by registry key, as of {@link #readUpTo} bytes of the file. */
    private final Map<String, Pin> pins = new HashMap<>();
    /** Last unpin time by registry key, as of {@link #readUpTo}. */
    private final Map<String, Instant> unpins = new HashMap<>();
    private long readUpTo;
    private Object readKey;

    private PinJournal(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
        this.monitor = IN_PROCESS.computeIfAbsent(file, f -> new Object());
    }

    /** The journal's path in {@code stateDir}. */
    public static Path file(Path stateDir) {
        return stateDir.toAbsolutePath().normalize().resolve(FILE_NAME);
    }

    /**
     * Whether {@code stateDir} holds a journal that has been kept: the file exists (not as a link) and
     * starts with its header line.
     */
    public static boolean kept(Path stateDir) throws IOException {
        Path f = file(stateDir);
        try (FileChannel in = FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer head = ByteBuffer.allocate(256);
            in.read(head);
            String text = new String(head.array(), 0, head.position(), StandardCharsets.UTF_8);
            return text.contains(HEADER_KIND);
        } catch (NoSuchFileException absent) {
            return false;
        }
    }

    /**
     * Opens the journal, creating it with its header when it has none, and cutting off a torn last line.
     *
     * @throws IOException when the file cannot be opened (a link is refused) or read
     */
    public static PinJournal open(Path stateDir, Clock clock) throws IOException {
        PinJournal journal = new PinJournal(file(stateDir), Objects.requireNonNull(clock, "clock"));
        journal.repairAndStart();
        journal.refresh();
        return journal;
    }

    public Path file() {
        return file;
    }

    private FileChannel openForWriting() throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
    }

    private void repairAndStart() throws IOException {
        synchronized (monitor) {
            try (FileChannel ch = openForWriting(); FileLock ignored = ch.lock()) {
                long size = ch.size();
                long keep = lastLineEnd(ch, size);
                if (keep < size) {
                    LOG.warn("{}: cut off a torn last line ({} bytes) left by a crash", file, size - keep);
                    ch.truncate(keep);
                    ch.force(true);
                }
                if (keep == 0) {
                    ObjectNode header = JSON.createObjectNode();
                    header.put("journal", HEADER_KIND);
                    header.put("time", clock.instant().toString());
                    write(ch, header);
                }
            }
        }
    }

    /** The offset just past the last newline in the first {@code size} bytes (0 when there is none). */
    private static long lastLineEnd(FileChannel ch, long size) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(4096);
        long pos = size;
        while (pos > 0) {
            int n = (int) Math.min(one.capacity(), pos);
            one.clear().limit(n);
            ch.read(one, pos - n);
            for (int i = n - 1; i >= 0; i--) {
                if (one.get(i) == '\n') {
                    return pos - n + i + 1;
                }
            }
            pos -= n;
        }
        return 0;
    }

    private static void write(FileChannel ch, ObjectNode line) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8));
        long at = ch.size();
        while (bytes.hasRemaining()) {
            at += ch.write(bytes, at);
        }
        ch.force(true);
    }

    /** Appends a pin or unpin of {@code path} and forces it to disk before returning. */
    public void record(String path, boolean pinned, String reason) throws IOException {
        ObjectNode line = JSON.createObjectNode();
        line.put("time", clock.instant().toString());
        line.put("action", pinned ? "pin" : "unpin");
        line.put("path", path);
        if (pinned && reason != null) {
            line.put("reason", reason);
        }
        synchronized (monitor) {
            try (FileChannel ch = openForWriting(); FileLock ignored = ch.lock()) {
                write(ch, line);
            }
        }
    }

    /** The pins in force, by registry key, including those other processes journaled since the last call. */
    public Map<String, Pin> pins() throws IOException {
        synchronized (monitor) {
            refresh();
            return Map.copyOf(pins);
        }
    }

    /** When {@code path} was last unpinned, as far as this journal knows; null if never. */
    public Instant lastUnpin(String path) throws IOException {
        synchronized (monitor) {
            refresh();
            return unpins.get(path);
        }
    }

    /** Reads what was appended since the last read (the whole file again if it was replaced or cut). */
    private void refresh() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            Object key = java.nio.file.Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey();
            long size = ch.size();
            if (!Objects.equals(key, readKey) || size < readUpTo) {
                pins.clear();
                unpins.clear();
                readUpTo = 0;
                readKey = key;
            }
            if (size == readUpTo) {
                return;
            }
            ByteBuffer tail = ByteBuffer.allocate((int) (size - readUpTo));
            while (tail.hasRemaining() && ch.read(tail, readUpTo + tail.position()) > 0) {
                // read until the buffer is full or the file ends
            }
            String text = new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8);
            int start = 0;
            for (int nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
                apply(text.substring(start, nl));
                start = nl + 1;
            }
            // A line without its newline is still being written by another process: read it next time.
            readUpTo += text.substring(0, start).getBytes(StandardCharsets.UTF_8).length;
        } catch (NoSuchFileException gone) {
            rewriteFromMemory();
        }
    }

    /** The file was deleted under a running process: write it again from the pins this process knows. */
    private void rewriteFromMemory() throws IOException {
        LOG.warn("{}: pin journal deleted while in use; writing it again with the {} pin(s) known here", file, pins.size());
        repairAndStart();
        Map<String, Pin> known = Map.copyOf(pins);
        for (Map.Entry<String, Pin> pin : known.entrySet()) {
            record(pin.getKey(), true, pin.getValue().reason());
        }
        readKey = null;
        refresh();
    }

    private void apply(String line) {
        if (line.isBlank()) {
            return;
        }
        try {
            JsonNode n = JSON.readTree(line);
            if (n.has("journal")) {
                return;
            }
            String path = n.get("path").asText();
            Instant at = Instant.parse(n.get("time").asText());
            if ("pin".equals(n.path("action").asText())) {
                JsonNode reason = n.get("reason");
                pins.put(path, new Pin(reason == null || reason.isNull() ? null : reason.asText(), at));
            } else {
                pins.remove(path);
                unpins.put(path, at);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: skipped a line that is not a pin record: {}", file, line);
        }
    }
}
