package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The registry's work in plain SQL, shared by SQLite and PostgreSQL: reading and listing rows, upsert
 * (merging with the stored row as {@link UpsertMerge} says), pins, history, marking checkpoints gone, and
 * the write transaction around each unit of work. A subclass supplies only what its database does its
 * own way: how a unit of work gets a connection ({@link #read}), what a write transaction takes first
 * ({@link #beginWrite}), and its error messages.
 *
 * <p>{@link #list} order: root, run, step, epoch, modified, name, path; text in byte order, and a
 * missing step, epoch or modification time sorts first, so within a run the highest step is last.
 * History rows written here: those of {@link UpsertMerge}, {@code pinned} and {@code unpinned} (detail:
 * the reason), and the state id on {@link #markGone}; they must belong to a registered path.
 *
 * <p>Why this class is long: it is the one implementation of every query of {@link Registry} for both
 * dialects, each run inside the dialect's {@link #read} or write (retry, error wording); the reads a pass
 * makes are one-line delegations to {@link RunRows} and {@link SizeHistory}, which hold their SQL.
 */
abstract class JdbcRegistry implements Registry {
    private static final String INSERT_EVENT = "INSERT INTO history (path, at, event, detail) VALUES (?, ?, ?, ?)";
    private static final String ORDER = " ORDER BY root, run, step NULLS FIRST, epoch NULLS FIRST,"
            + " modified NULLS FIRST, name, path";
    /** Paths per {@code IN (...)} of {@link #byPaths}: well under either database's parameter limit. */
    private static final int PATHS_PER_QUERY = 500;

    private final Clock clock;

    /** @param clock stamps pin events and the instants an upserted checkpoint leaves null */
    JdbcRegistry(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Runs {@code work} on a connection for reading; errors say {@code what} was being done. */
    abstract <T> T read(String what, Work<T> work);

    /**
     * What a write transaction does first, before its work, on a connection not in auto-commit: here
     * nothing (SQLite's transactions begin IMMEDIATE, taking the write lock themselves).
     *
     * @return a stamp {@link #committed} is given once this transaction has committed
     */
    long beginWrite(Connection c) throws SQLException { return 0; }

    /** A write transaction committed; {@code stamp} is what its {@link #beginWrite} returned. Here nothing. */
    void committed(long stamp) {
    }

    /** Runs {@code work} in one write transaction; errors say {@code what} was being done. */
    final <T> T write(String what, Work<T> work) {
        return read(what, c -> {
            c.setAutoCommit(false);
            T result;
            long stamp;
            try {
                stamp = beginWrite(c);
                result = work.run(c);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                try {
                    c.setAutoCommit(true);
                } catch (SQLException restoring) {
                    // A broken connection fails here too: what broke it is the error to report, not this.
                    e.addSuppressed(restoring);
                }
                throw e;
            }
            committed(stamp);
            c.setAutoCommit(true);
            return result;
        });
    }

    @FunctionalInterface
    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /** A history row about to be written, its time already in stored form. */
    record PendingEvent(String path, String at, String event, String detail) {

        static PendingEvent of(HistoryEvent event) {
            return new PendingEvent(event.path(), InstantText.format(event.at()), event.event(), event.detail());
        }
    }

    @Override
    public Map<String, Registered> present(String root) {
        Objects.requireNonNull(root, "root");
        return read("present(" + root + ")", c -> presentByColumn(c, root));
    }

    /** The present checkpoints of {@code root} by path, read column by column; no ORDER BY: callers look rows up. */
    static Map<String, Registered> presentByColumn(Connection c, String root) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT " + CheckpointRows.COLUMNS + " FROM checkpoints"
                + " WHERE root = ? AND state IN " + CheckpointRows.PRESENT_STATES)) {
            select.setString(1, root);
            Map<String, Registered> found = new HashMap<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    Registered checkpoint = CheckpointRows.read(rs);
                    found.put(checkpoint.key(), checkpoint);
                }
            }
            return found;
        }
    }

    @Override
    public List<Registered> list(String root, String run, boolean includeHistory) {
        StringBuilder sql = new StringBuilder("SELECT " + CheckpointRows.COLUMNS + " FROM checkpoints WHERE 1 = 1");
        List<String> arguments = new ArrayList<>();
        if (root != null) {
            sql.append(" AND root = ?");
            arguments.add(root);
        }
        if (run != null) {
            sql.append(" AND run = ?");
            arguments.add(run);
        }
        if (!includeHistory) {
            sql.append(" AND state IN ").append(CheckpointRows.PRESENT_STATES);
        }
        sql.append(ORDER);
        return read("list", c -> {
            try (PreparedStatement select = c.prepareStatement(sql.toString())) {
                for (int i = 0; i < arguments.size(); i++) {
                    select.setString(i + 1, arguments.get(i));
                }
                List<Registered> found = new ArrayList<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        found.add(CheckpointRows.read(rs));
                    }
                }
                return found;
            }
        });
    }

    @Override
    public java.util.SortedMap<String, Integer> presentRunCounts(String root) {
        Objects.requireNonNull(root, "root");
        return read("presentRunCounts(" + root + ")", c -> RunRows.counts(c, root));
    }

    @Override
    public Instant latestStateSince(String root) {
        Objects.requireNonNull(root, "root");
        return read("latestStateSince(" + root + ")", c -> RunRows.latestStateSince(c, root));
    }

    @Override
    public List<SizeChange> sizeChanges(String root) {
        Objects.requireNonNull(root, "root");
        return read("sizeChanges(" + root + ")", c -> RunRows.sizeChanges(c, root, ORDER));
    }

    @Override
    public SizeChange.Totals sizeChangeTotals(List<String> roots, Instant from, Instant to) {
        return read("sizeChangeTotals(" + roots + ")", c -> SizeHistory.totals(c, roots, from, to));
    }

    @Override
    public void sizeChanges(List<String> roots, Instant from, Instant to, java.util.function.Consumer<SizeChange> each) {
        long[] handedOn = {0}; // a unit of work tried again on a fresh connection hands on nothing twice
        read("sizeChanges(" + roots + ")", c -> SizeHistory.window(c, roots, from, to, handedOn, each));
    }

    @Override
    public SettledRun settledRun(String root, String run) {
        return read("settledRun(" + root + ", " + run + ")", c -> RunRows.settled(c, root, run));
    }

    @Override
    public Map<String, SettledRun> settledRuns(String root) {
        return read("settledRuns(" + root + ")", c -> RunRows.settled(c, root));
    }

    @Override
    public List<Registered> presentIn(String root, Collection<String> runs) {
        Objects.requireNonNull(root, "root");
        return runs.isEmpty() ? List.of() : read("presentIn(" + root + ", " + runs.size() + " runs)",
                c -> RunRows.present(c, root, runs));
    }

    @Override
    public Optional<Registered> byPath(String path) {
        Objects.requireNonNull(path, "path");
        return read("byPath(" + path + ")", c -> {
            try (PreparedStatement select = c.prepareStatement(
                    "SELECT " + CheckpointRows.COLUMNS + " FROM checkpoints WHERE path = ?")) {
                select.setString(1, path);
                try (ResultSet rs = select.executeQuery()) {
                    return rs.next() ? Optional.of(CheckpointRows.read(rs)) : Optional.<Registered>empty();
                }
            }
        });
    }

    @Override
    public Map<String, Registered> byPaths(Collection<String> paths) {
        if (paths.isEmpty()) {
            return Map.of();
        }
        List<String> all = new ArrayList<>(new LinkedHashSet<>(paths));
        return read("byPaths(" + all.size() + " paths)", c -> {
            Map<String, Registered> out = new HashMap<>();
            for (int from = 0; from < all.size(); from += PATHS_PER_QUERY) {
                List<String> chunk = all.subList(from, Math.min(all.size(), from + PATHS_PER_QUERY));
                String marks = String.join(",", Collections.nCopies(chunk.size(), "?"));
                try (PreparedStatement select = c.prepareStatement("SELECT " + CheckpointRows.COLUMNS
                        + " FROM checkpoints WHERE path IN (" + marks + ")")) {
                    for (int i = 0; i < chunk.size(); i++) {
                        select.setString(i + 1, chunk.get(i));
                    }
                    try (ResultSet rs = select.executeQuery()) {
                        while (rs.next()) {
                            Registered found = CheckpointRows.read(rs);
                            out.put(found.key(), found);
                        }
                    }
                }
            }
            return out;
        });
    }

    @Override
    public void upsert(Collection<Registered> checkpoints) {
        if (checkpoints.isEmpty()) {
            return;
        }
        // One row per path; a later element for the same path wins, as if upserted after the earlier one.
        Map<String, Registered> byPath = new LinkedHashMap<>();
        for (Registered checkpoint : checkpoints) {
            byPath.put(checkpoint.key(), checkpoint);
        }
        String now = InstantText.format(clock.instant());
        write("upsert of " + byPath.size() + " checkpoints", c -> {
            List<PendingEvent> events = new ArrayList<>();
            try (PreparedStatement find = c.prepareStatement(UpsertMerge.FIND);
                 PreparedStatement upsert = c.prepareStatement(CheckpointRows.UPSERT)) {
                // A big batch (a run directory of a first pass) reads its stored rows 500 paths a query, not one per row.
                Map<String, UpsertMerge.Stored> known = byPath.size() > UpsertMerge.BULK_LOOKUP
                        ? UpsertMerge.storedByRoot(c, byPath.values()) : null;
                for (Registered incoming : byPath.values()) {
                    UpsertMerge.Stored stored = known != null ? known.get(incoming.key())
                            : UpsertMerge.stored(find, incoming.key());
                    CheckpointRows.bind(upsert, incoming, UpsertMerge.merge(stored, incoming, now, events, c));
                    upsert.addBatch();
                }
                upsert.executeBatch();
            }
            insertEvents(c, events);
            return null;
        });
    }

    @Override
    public boolean pin(String path, boolean pinned, String reason) {
        Objects.requireNonNull(path, "path");
        Instant at = clock.instant();
        return write((pinned ? "pin of " : "unpin of ") + path, c -> {
            try (PreparedStatement update = c.prepareStatement(
                    "UPDATE checkpoints SET pinned = ?, pin_reason = ? WHERE path = ?")) {
                update.setBoolean(1, pinned);
                update.setString(2, pinned ? reason : null);
                update.setString(3, path);
                if (update.executeUpdate() == 0) {
                    return false;
                }
            }
            insertEvents(c, List.of(PendingEvent.of(new HistoryEvent(path, at, pinned ? "pinned" : "unpinned", reason))));
            return true;
        });
    }

    @Override
    public void markGone(Collection<String> paths, CheckpointState state, Instant at, String reason) {
        if (state.present()) {
            throw new IllegalArgumentException("markGone takes deleted or offloaded, not " + state.id());
        }
        Objects.requireNonNull(at, "at");
        if (paths.isEmpty()) {
            return;
        }
        List<String> unique = List.copyOf(new LinkedHashSet<>(paths));
        String since = InstantText.format(at);
        write("markGone of " + unique.size() + " paths", c -> {
            List<PendingEvent> events = new ArrayList<>();
            try (PreparedStatement update = c.prepareStatement("UPDATE checkpoints SET state = ?, state_since = ?,"
                    + " note = ? WHERE path = ? AND state <> ?")) {
                for (String path : unique) {
                    update.setString(1, state.id());
                    update.setString(2, since);
                    update.setString(3, reason);
                    update.setString(4, path);
                    update.setString(5, state.id());
                    update.addBatch();
                }
                int[] counts = update.executeBatch();
                for (int i = 0; i < counts.length; i++) {
                    if (counts[i] > 0) {
                        events.add(new PendingEvent(unique.get(i), since, state.id(), reason));
                    }
                }
            }
            insertEvents(c, events);
            return null;
        });
    }

    @Override
    public boolean isEmpty() {
        return read("isEmpty", c -> {
            try (PreparedStatement select = c.prepareStatement("SELECT 1 FROM checkpoints LIMIT 1");
                 ResultSet rs = select.executeQuery()) {
                return !rs.next();
            }
        });
    }

    @Override
    public Map<String, String> pinned() {
        return read("pinned", c -> {
            try (PreparedStatement select = c.prepareStatement("SELECT path, pin_reason FROM checkpoints WHERE pinned = ?")) {
                select.setBoolean(1, true);
                Map<String, String> out = new HashMap<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), rs.getString(2));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public List<HistoryEvent> history(String path) {
        Objects.requireNonNull(path, "path");
        return read("history(" + path + ")", c -> HistoryRows.read(c, path));
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when no checkpoint is registered at the event's path
     */
    @Override
    public void recordEvent(HistoryEvent event) {
        Objects.requireNonNull(event.path(), "event path");
        Objects.requireNonNull(event.at(), "event time");
        Objects.requireNonNull(event.event(), "event name");
        boolean recorded = write("recording " + event.event() + " of " + event.path(), c -> {
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO history (path, at, event, detail)"
                    + " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM checkpoints WHERE path = ?)")) {
                insert.setString(1, event.path());
                insert.setString(2, InstantText.format(event.at()));
                insert.setString(3, event.event());
                insert.setString(4, event.detail());
                insert.setString(5, event.path());
                return insert.executeUpdate() > 0;
            }
        });
        if (!recorded) {
            throw new IllegalArgumentException("no checkpoint registered at " + event.path());
        }
    }

    static void insertEvents(Connection c, List<PendingEvent> events) throws SQLException {
        if (events.isEmpty()) {
            return;
        }
        try (PreparedStatement insert = c.prepareStatement(INSERT_EVENT)) {
            for (PendingEvent event : events) {
                insert.setString(1, event.path());
                insert.setString(2, event.at());
                insert.setString(3, event.event());
                insert.setString(4, event.detail());
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }
}
