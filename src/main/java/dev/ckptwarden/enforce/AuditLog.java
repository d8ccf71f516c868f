package dev.ckptwarden.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The audit log: {@code <state_dir>/audit.jsonl}, one JSON object per line, appended, never
 * rewritten. Each eviction writes a {@code begin} line before anything is touched and an {@code end}
 * line after; every line is forced to disk ({@link FileChannel#force}) before the call returns, so a
 * begin line is durable before the rename into the trash happens. A begin line without an end line
 * means the process died in between; the checkpoint is then whole in place, or whole in the trash
 * and finished by the next start.
 *
 * <p>Fields, in this order ({@link AuditRecord} documents each): {@code time} (ISO-8601 UTC),
 * {@code phase} ({@code begin}|{@code end}), {@code eviction} (pairs the two lines), {@code path},
 * {@code root}, {@code run}, {@code bytes}, {@code reason}
 * ({@code policy}|{@code quota}|{@code run_quota}|{@code disk_pressure}|{@code manual}), {@code action}
 * ({@code delete}|{@code report}|{@code offload}); begin lines add {@code why} (the retention reasons),
 * end lines add {@code outcome} ({@code ok}|{@code skipped:<why>}|{@code failed:<why>}) and, when
 * there is more to say, {@code detail}. Dry runs and {@code action: report} write nothing here.
 *
 * <p>Rotation: when the file would grow past {@link #DEFAULT_MAX_BYTES}, it is renamed to
 * {@code audit.jsonl.<UTC time>} (atomic, after the last line was forced to disk) and a new file is
 * started, so no line is ever lost or split. Rotated files are never deleted by the agent: keeping or
 * pruning audit history is the operator's call (tmpfiles.d age, logrotate).
 *
 * <p>The file is opened without following a link, in a {@link StateDirectory#check checked}
 * state directory. A last line without its newline (a write cut short by a full disk) is cut off when
 * the file is opened: its append had failed, so nothing relied on it, and every line stays parseable.
 */
public final class AuditLog implements Closeable {
    /** The file's name inside {@code state_dir}. */
    public static final String FILE_NAME = "audit.jsonl";

    /** Size at which the file is rotated. */
    public static final long DEFAULT_MAX_BYTES = 64L << 20;

    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final java.time.format.DateTimeFormatter ROTATED = java.time.format.DateTimeFormatter
            .ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);

    private final Path file;
    private FileChannel channel;
    private final Clock clock;
    private final long maxBytes;
    private long forces;
    /** The current file's size at its last force: every line before it is on disk. */
    private long durable;

    private AuditLog(Path file, FileChannel channel, Clock clock, long maxBytes) {
        this.file = file;
        this.channel = channel;
        this.clock = clock;
        this.maxBytes = maxBytes;
    }

    /** Opens (creating if needed) {@code <stateDir>/audit.jsonl} for appending. */
    public static AuditLog open(Path stateDir) throws IOException {
        return open(stateDir, Clock.systemUTC());
    }

    /** As {@link #open(Path)}, stamping lines with {@code clock}. */
    public static AuditLog open(Path stateDir, Clock clock) throws IOException {
        return open(stateDir, clock, DEFAULT_MAX_BYTES);
    }

    /** As {@link #open(Path, Clock)}, rotating at {@code maxBytes}. */
    public static AuditLog open(Path stateDir, Clock clock, long maxBytes) throws IOException {
        StateDirectory.check(stateDir);
        Path file = stateDir.resolve(FILE_NAME);
        return new AuditLog(file, openChannel(file), clock, maxBytes);
    }

    private static FileChannel openChannel(Path file) throws IOException {
        try {
            try (FileChannel repair = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                repairTornTail(repair);
            }
            // Appending (O_APPEND): a line is never written over another process's.
            return FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            if (Files.isSymbolicLink(file)) {
                throw new IOException(file + ": refused: a symbolic link (the audit log is never written through one)", e);
            }
            throw e;
        }
    }

    /** Cuts a last line that has no newline (a failed append's remains) back to the previous newline. */
    private static void repairTornTail(FileChannel ch) throws IOException {
        long size = ch.size();
        if (size == 0 || lastByte(ch, size - 1) == '\n') {
            return;
        }
        long keep = 0;
        ByteBuffer buf = ByteBuffer.allocate(8192);
        for (long end = size; end > 0 && keep == 0; ) {
            long start = Math.max(0, end - buf.capacity());
            buf.clear().limit((int) (end - start));
            while (buf.hasRemaining() && ch.read(buf, start + buf.position()) > 0) {
                // fill the window
            }
            for (int i = buf.position() - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    keep = start + i + 1;
                    break;
                }
            }
            end = start;
        }
        ch.truncate(keep);
        ch.force(true);
    }

    private static byte lastByte(FileChannel ch, long at) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        if (ch.read(one, at) != 1) {
            throw new IOException("audit log shrank while being opened");
        }
        return one.get(0);
    }

    /** Renames the full file aside and starts a new one; every line already written stays in the old one. */
    private void rotate() throws IOException {
        channel.force(true);
        channel.close();
        Path aside = file.resolveSibling(FILE_NAME + "." + ROTATED.format(clock.instant()));
        for (int i = 1; Files.exists(aside); i++) {
            aside = file.resolveSibling(FILE_NAME + "." + ROTATED.format(clock.instant()) + "-" + i);
        }
        Files.move(file, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        channel = openChannel(file);
        durable = 0;
    }

    public Path file() {
        return file;
    }

    /**
     * Appends one line and forces it to disk. {@code time} of the record is ignored: the line is
     * stamped with this log's clock.
     *
     * @return the record as written
     */
    public synchronized AuditRecord append(AuditRecord r) throws IOException {
        return appendAll(List.of(r)).get(0);
    }

    /**
     * Appends several lines with one write and forces them to disk once: a batch of evictions pays
     * one {@code fsync} for all its {@code begin} lines (and one for its {@code end} lines). Either
     * every line is durable when this returns, or it throws. Lines are stamped with this log's clock.
     *
     * @return the records as written, in order
     */
    public synchronized List<AuditRecord> appendAll(List<AuditRecord> records) throws IOException {
        Written w = write(records);
        force(w);
        return w.records();
    }

    /**
     * Lines appended by {@link #write} and not yet known to be on disk: {@link #force} makes them durable.
     *
     * @param start the file's size before them; {@code end} after them
     */
    public record Written(List<AuditRecord> records, long start, long end) {
    }

    /**
     * Appends lines with one write without forcing them to disk yet, so that the caller can do other work
     * (or force other files) while they are written back; nothing may rely on them before {@link #force}
     * returned. A write that fails is cut off again and throws. Lines are stamped with this log's clock.
     */
    public synchronized Written write(List<AuditRecord> records) throws IOException {
        if (records.isEmpty()) {
            return new Written(List.of(), channel.size(), channel.size());
        }
        Instant at = clock.instant();
        List<AuditRecord> stamped = new ArrayList<>(records.size());
        StringBuilder text = new StringBuilder(records.size() * 256);
        for (AuditRecord r : records) {
            AuditRecord s = new AuditRecord(at, r.phase(), r.eviction(), r.path(), r.root(), r.run(),
                    r.bytes(), r.reason(), r.action(), r.why(), r.outcome(), r.detail());
            stamped.add(s);
            text.append(JSON.writeValueAsString(toJson(s))).append('\n');
        }
        ByteBuffer lines = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        if (channel.size() > 0 && channel.size() + lines.remaining() > maxBytes) {
            rotate();
        }
        long before = channel.size();
        try {
            while (lines.hasRemaining()) {
                channel.write(lines);
            }
        } catch (IOException e) {
            cutBack(before, e);
            throw e;
        }
        return new Written(stamped, before, channel.size());
    }

    /**
     * Forces what {@link #write} wrote to disk (with every line before it). When that fails the lines are
     * cut off again if nothing was appended after them, and it throws: they may not be relied on.
     */
    public synchronized void force(Written w) throws IOException {
        if (w.records().isEmpty() || durable >= w.end()) {
            return;
        }
        try {
            channel.force(true);
        } catch (IOException e) {
            if (channel.size() == w.end()) {
                cutBack(w.start(), e);
            }
            throw e;
        }
        forces++;
        durable = channel.size();
    }

    /** A full disk can take part of the lines: cut them off so the next append starts a line. */
    private void cutBack(long size, IOException e) {
        try {
            channel.truncate(size);
        } catch (IOException | RuntimeException still) {
            e.addSuppressed(still); // the next open cuts the torn tail instead
        }
    }

    /** The size of the current file up to which every line is known to be on disk (tests check the order). */
    synchronized long durableSize() {
        return durable;
    }

    /** How many times lines were forced to disk through this instance (tests check the begin line was). */
    synchronized long forces() {
        return forces;
    }

    /**
     * Which of {@code evictions} already have an {@code end} line in the current file. A start asks before it
     * finishes what a killed pass left in a trash: a pass killed after its end lines, before its purge, has
     * ended those evictions, and finishing them again would record each twice. Only the current file is read:
     * a rotation happens before lines are written, so a killed pass's end lines are there unless a later start
     * appended a whole file's worth ({@link #DEFAULT_MAX_BYTES}) before asking. Lines that do not parse are skipped.
     */
    public synchronized Set<String> ended(Collection<String> evictions) throws IOException {
        Set<String> wanted = new HashSet<>(evictions);
        Set<String> found = new HashSet<>();
        if (wanted.isEmpty()) {
            return found;
        }
        try (BufferedReader in = new BufferedReader(Channels.newReader(FileChannel.open(file, StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (!line.contains("\"phase\":\"" + AuditRecord.END + "\"")) {
                    continue;
                }
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException notARecord) {
                    continue;
                }
                if (n != null && AuditRecord.END.equals(text(n, "phase")) && wanted.contains(text(n, "eviction"))) {
                    found.add(text(n, "eviction"));
                }
            }
        } catch (NoSuchFileException absent) {
            return found;
        }
        return found;
    }

    /** Every record of an audit log file, oldest first; an absent file has none. */
    public static List<AuditRecord> read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException absent) {
            return List.of();
        }
        List<AuditRecord> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                out.add(fromJson(JSON.readTree(lines.get(i))));
            } catch (IOException | RuntimeException e) {
                throw new IOException(file + ":" + (i + 1) + ": not an audit record: " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static ObjectNode toJson(AuditRecord r) {
        ObjectNode n = JSON.createObjectNode();
        n.put("time", r.time().toString());
        n.put("phase", r.phase());
        n.put("eviction", r.eviction());
        n.put("path", r.path());
        n.put("root", r.root());
        n.put("run", r.run());
        n.put("bytes", r.bytes());
        n.put("reason", r.reason());
        n.put("action", r.action());
        if (AuditRecord.BEGIN.equals(r.phase())) {
            ArrayNode why = n.putArray("why");
            r.why().forEach(why::add);
        } else {
            n.put("outcome", r.outcome());
            if (r.detail() != null) {
                n.put("detail", r.detail());
            }
        }
        return n;
    }

    private static AuditRecord fromJson(JsonNode n) {
        List<String> why = new ArrayList<>();
        n.path("why").forEach(w -> why.add(w.asText()));
        return new AuditRecord(Instant.parse(n.get("time").asText()), n.get("phase").asText(), text(n, "eviction"),
                text(n, "path"), text(n, "root"), text(n, "run"), n.path("bytes").asLong(), text(n, "reason"),
                text(n, "action"), why, text(n, "outcome"), text(n, "detail"));
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
