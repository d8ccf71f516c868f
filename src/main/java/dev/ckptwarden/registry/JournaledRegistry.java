package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A registry whose pins are also kept in the {@link PinJournal} of {@code state_dir}, so that a lost,
 * emptied or replaced database does not silently drop them. What every command and the agent open.
 *
 * <ul>
 *   <li>Pins and unpins go to the database, then to the journal (forced to disk) before they are reported done.</li>
 *   <li>The effective pin of a checkpoint is the database's or the journal's: every read (and so
 *       {@code plan}, enforcement and {@code ls}) sees a journaled pin even where the row lacks it, and
 *       the row is repaired on the spot. At open and after each upsert, journal and database are
 *       brought to agree: a pin only one of them has is copied to the other, unless the other recorded
 *       a later unpin of that path (an unpin from another host in cluster mode, an older database copy).</li>
 *   <li>An empty database beside a state directory with history (audit log lines, a journal without
 *       its header) and no kept journal cannot be rebuilt: this is written down as
 *       {@value #HOLD_FILE} in {@code state_dir}, and {@link #deletionHold()} stops every deletion
 *       until the user starts fresh ({@code --fresh-registry} of {@code run} and {@code enforce}).</li>
 * </ul>
 *
 * <p>In cluster mode the journal is the local agent's: pins made through other hosts are journaled there.
 *
 * <p>Why this class is long: it stands in for the whole {@link Registry} interface (every read carries the
 * journaled pins, every query a pass streams by must reach the database's own SQL, not a default that reads
 * the whole root), on top of its own recovery of a lost database.
 */
public final class JournaledRegistry implements Registry {
    /** The marker in {@code state_dir} that holds deletions after the registry was found lost. */
    public static final String HOLD_FILE = "registry.lost";
    /** The audit log's file name ({@code AuditLog.FILE_NAME}; enforce depends on registry, not the reverse). */
    static final String AUDIT_LOG = "audit.jsonl";

    private static final Logger LOG = LoggerFactory.getLogger(JournaledRegistry.class);

    private final Registry delegate;
    private final PinJournal journal;
    private final Path hold;
    /** The database's identity when opened (null for a registry that keeps none): asked before each batch. */
    private RegistryIdentity identity;
    private final Clock clock;

    private JournaledRegistry(Registry delegate, PinJournal journal, Path hold, Clock clock) {
        this.clock = clock;
        this.delegate = delegate;
        this.journal = journal;
        this.hold = hold;
    }

    /**
     * Wraps {@code delegate} with the journal of {@code stateDir}, rebuilding pins the database lost.
     *
     * @param startFresh the user said to start fresh: a hold left by an earlier lost registry is lifted
     * @throws RegistryException when the journal or the hold marker cannot be read or written (delegate closed)
     */
    public static JournaledRegistry open(Registry delegate, Path stateDir, Clock clock, boolean startFresh) {
        Path dir = stateDir.toAbsolutePath().normalize();
        Path hold = dir.resolve(HOLD_FILE);
        try {
            // Private, as run and enforce require of state_dir (StateDirectory), whatever the umask.
            Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
            boolean kept = PinJournal.kept(dir);
            if (startFresh) {
                if (Files.deleteIfExists(hold)) {
                    LOG.warn("{}: started fresh as asked (--fresh-registry): pins the lost registry held are forgotten;"
                            + " deleting is allowed again", dir);
                }
            } else if (!kept && !Files.exists(hold, LinkOption.NOFOLLOW_LINKS) && delegate.isEmpty()) {
                String history = history(dir);
                if (history != null) {
                    writeHold(hold, dir, history, clock.instant());
                }
            }
            PinJournal journal = PinJournal.open(dir, clock);
            JournaledRegistry registry = new JournaledRegistry(delegate, journal, hold, clock);
            int journaled = journal.pins().size();
            if (kept && journaled > 0 && delegate.isEmpty()) {
                LOG.warn("{}: the registry is empty; re-applying {} pin(s) from {} as their checkpoints are registered",
                        dir, journaled, journal.file());
            }
            registry.agreeAll();
            // What this process knows as its registry from here on: a database replaced under it holds deletions.
            registry.identity = RegistryIdentity.remember(delegate);
            registry.deletionHold().ifPresent(LOG::warn);
            return registry;
        } catch (IOException | RuntimeException e) {
            delegate.close();
            if (e instanceof RegistryException r) {
                throw r;
            }
            throw new RegistryException(dir, "pin journal: " + (e.getMessage() == null ? e : e.getMessage()), e);
        }
    }

    /** The registry this one journals the pins of (for what only it offers, such as the cluster lease). */
    public Registry delegate() {
        return delegate;
    }

    /** What in {@code dir} shows it was used before (a non-empty audit log or journal), or null when nothing does. */
    private static String history(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if ((name.startsWith(AUDIT_LOG) || name.equals(PinJournal.FILE_NAME))
                        && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && Files.size(p) > 0) {
                    return name;
                }
            }
        }
        return null;
    }

    private static void writeHold(Path hold, Path dir, String history, Instant at) throws IOException {
        writeHold(hold, at, "the registry was found empty while " + dir + " has history (" + history
                + ") and no pin journal (" + PinJournal.FILE_NAME + "); pins it held are unknown");
    }

    /** The marker: {@code <instant>: <why>} on one line, read back by {@link #deletionHold()}. */
    private static void writeHold(Path hold, Instant at, String why) throws IOException {
        Files.write(hold, (at + ": " + why + "\n").getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    /** Whether deletions are held (the hold marker is in {@code state_dir}): cheap, no database question. */
    public boolean held() {
        return Files.exists(hold, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Also asks the database whether it is still the one this process opened ({@link RegistryIdentity}):
     * one dropped and created again, or replaced, under the running agent lost its pins and history as an
     * empty one found at start did, so the same hold is written down (one log line), and it outlives a
     * restart until the user starts fresh.
     *
     * @throws RegistryException when the database cannot be asked (an outage: nothing is written down)
     */
    @Override
    public synchronized Optional<String> deletionHold() {
        if (!held() && identity != null) {
            String why = identity.changed();
            if (why != null) {
                LOG.error("{}; deleting nothing until the user starts fresh ('ckpt-warden run --fresh-registry')", why);
                try {
                    writeHold(hold, clock.instant(), why);
                } catch (IOException e) {
                    // Not written down: this process still holds (it remembers), a restart would not.
                    LOG.error("{}: cannot write down the hold ({}); a restart would forget it", hold, e.getMessage());
                    return Optional.of(holdMessage(why));
                }
            }
        }
        if (!held()) {
            return Optional.empty();
        }
        String why;
        try {
            why = Files.readString(hold, StandardCharsets.UTF_8).lines().findFirst().orElse("")
                    .replaceFirst("^[0-9T:.Z-]+: ", "");
        } catch (IOException e) {
            why = "";
        }
        return Optional.of(holdMessage(why.isBlank() ? "the registry was found empty while " + hold.getParent()
                + " has history and no pin journal, so pins made before may be lost" : why));
    }

    private String holdMessage(String why) {
        return "deleting nothing: " + why + " (" + hold + "); pin again what must be kept ('ckpt-warden pin PATH'),"
                + " then start fresh with 'ckpt-warden enforce --fresh-registry' or 'ckpt-warden run --fresh-registry'";
    }

    // --- pins kept in both records ---

    @Override
    public boolean pin(String path, boolean pinned, String reason) {
        if (!delegate.pin(path, pinned, reason)) {
            return false;
        }
        try {
            journal.record(path, pinned, reason);
        } catch (IOException e) {
            throw new RegistryException(journal.file(), (pinned ? "pin of " : "unpin of ") + path
                    + " is in the registry but could not be journaled: " + e.getMessage(), e);
        }
        return true;
    }

    private Map<String, PinJournal.Pin> journalPins() {
        try {
            return journal.pins();
        } catch (IOException e) {
            throw new RegistryException(journal.file(), "cannot read pin journal: " + e.getMessage(), e);
        }
    }

    /** Brings database and journal to agree on every pin either of them holds for a registered checkpoint. */
    private void agreeAll() throws IOException {
        Map<String, PinJournal.Pin> pins = journalPins();
        for (Map.Entry<String, String> row : delegate.pinned().entrySet()) {
            if (!pins.containsKey(row.getKey())) {
                adoptRegistryPin(row.getKey(), row.getValue());
            }
        }
        for (Registered c : delegate.byPaths(pins.keySet()).values()) {
            if (!c.pinned()) {
                agree(c, pins.get(c.key()));
            }
        }
    }

    /** A pin the database has and the journal lacks: journal it, unless the journal unpinned it later. */
    private void adoptRegistryPin(String path, String reason) throws IOException {
        Instant unpinned = journal.lastUnpin(path);
        Instant pinnedAt = lastEvent(path, "pinned");
        if (unpinned != null && (pinnedAt == null || pinnedAt.isBefore(unpinned))) {
            LOG.warn("{}: pinned in the registry but unpinned later ({}) in {}: unpinned", path, unpinned, journal.file());
            delegate.pin(path, false, null);
        } else {
            journal.record(path, true, reason);
        }
    }

    /**
     * A pin the journal has and the row lacks: the row gets it back, unless the database recorded an
     * unpin of that path since. Returns the checkpoint with its effective pin.
     */
    private Registered agree(Registered row, PinJournal.Pin pin) throws IOException {
        Instant unpinned = lastEvent(row.key(), "unpinned");
        if (unpinned != null && !unpinned.isBefore(pin.at())) {
            journal.record(row.key(), false, null);
            return row;
        }
        LOG.warn("{}: pinned in {} but not in the registry: pin restored", row.key(), journal.file());
        delegate.pin(row.key(), true, pin.reason());
        return row.withPin(true, pin.reason());
    }

    private Instant lastEvent(String path, String event) {
        Instant last = null;
        for (HistoryEvent e : delegate.history(path)) {
            if (event.equals(e.event())) {
                last = e.at();
            }
        }
        return last;
    }

    /** The checkpoint with its effective pin (repairing the row when the journal has a pin it lacks). */
    private Registered effective(Registered c, Map<String, PinJournal.Pin> pins) {
        PinJournal.Pin pin = c.pinned() ? null : pins.get(c.key());
        if (pin == null) {
            return c;
        }
        try {
            return agree(c, pin);
        } catch (IOException e) {
            throw new UncheckedIOException(journal.file() + ": " + e.getMessage(), e);
        }
    }

    // --- reads: effective pins ---

    @Override
    public Map<String, Registered> present(String root) {
        Map<String, PinJournal.Pin> pins = journalPins();
        Map<String, Registered> out = new LinkedHashMap<>();
        delegate.present(root).forEach((k, c) -> out.put(k, effective(c, pins)));
        return out;
    }

    @Override
    public java.util.SortedMap<String, Integer> presentRunCounts(String root) {
        return delegate.presentRunCounts(root);
    }

    @Override
    public java.time.Instant latestStateSince(String root) {
        return delegate.latestStateSince(root);
    }

    @Override
    public List<SizeChange> sizeChanges(String root) {
        return delegate.sizeChanges(root);
    }

    @Override
    public SizeChange.Totals sizeChangeTotals(List<String> roots, java.time.Instant from, java.time.Instant to) {
        return delegate.sizeChangeTotals(roots, from, to);
    }

    @Override
    public void sizeChanges(List<String> roots, java.time.Instant from, java.time.Instant to,
                            java.util.function.Consumer<SizeChange> each) {
        delegate.sizeChanges(roots, from, to, each);
    }

    @Override
    public SettledRun settledRun(String root, String run) {
        return delegate.settledRun(root, run); // pins play no part in it
    }

    @Override
    public Map<String, SettledRun> settledRuns(String root) {
        return delegate.settledRuns(root);
    }

    @Override
    public List<Registered> presentIn(String root, Collection<String> runs) {
        Map<String, PinJournal.Pin> pins = journalPins();
        return delegate.presentIn(root, runs).stream().map(c -> effective(c, pins)).toList();
    }

    @Override
    public List<Registered> list(String root, String run, boolean includeHistory) {
        Map<String, PinJournal.Pin> pins = journalPins();
        List<Registered> out = new ArrayList<>();
        for (Registered c : delegate.list(root, run, includeHistory)) {
            out.add(effective(c, pins));
        }
        return out;
    }

    @Override
    public Optional<Registered> byPath(String path) {
        Map<String, PinJournal.Pin> pins = journalPins();
        return delegate.byPath(path).map(c -> effective(c, pins));
    }

    @Override
    public Map<String, Registered> byPaths(Collection<String> paths) {
        Map<String, PinJournal.Pin> pins = journalPins();
        Map<String, Registered> out = new LinkedHashMap<>();
        delegate.byPaths(paths).forEach((k, c) -> out.put(k, effective(c, pins)));
        return out;
    }

    @Override
    public Map<String, String> pinned() {
        Map<String, String> out = new LinkedHashMap<>(delegate.pinned());
        journalPins().forEach((path, pin) -> out.putIfAbsent(path, pin.reason()));
        return out;
    }

    // --- writes ---

    /** As the database's upsert; journaled pins of the checkpoints it (re)registers are then restored. */
    @Override
    public void upsert(Collection<Registered> checkpoints) {
        delegate.upsert(checkpoints);
        Map<String, PinJournal.Pin> pins = journalPins();
        if (pins.isEmpty()) {
            return;
        }
        List<String> journaled = new ArrayList<>();
        for (Registered c : checkpoints) {
            if (pins.containsKey(c.key())) {
                journaled.add(c.key());
            }
        }
        if (!journaled.isEmpty()) {
            byPaths(journaled);
        }
    }

    @Override
    public void markGone(Collection<String> paths, CheckpointState state, Instant at, String reason) {
        delegate.markGone(paths, state, at, reason);
    }

    @Override
    public List<HistoryEvent> history(String path) {
        return delegate.history(path);
    }

    @Override
    public void recordEvent(HistoryEvent event) {
        delegate.recordEvent(event);
    }

    @Override
    public boolean isEmpty() {
        return delegate.isEmpty();
    }

    @Override
    public Optional<byte[]> sharedSecret(String name, byte[] proposed) {
        return delegate.sharedSecret(name, proposed);
    }

    /** Changes with the database's counter; a pin journaled by another process also pins its row there. */
    @Override
    public long externalChangeCounter() {
        return delegate.externalChangeCounter();
    }

    @Override
    public void close() {
        delegate.close();
    }

    /** Which database and journal. */
    @Override
    public String toString() {
        return delegate + " + " + journal.file();
    }
}
