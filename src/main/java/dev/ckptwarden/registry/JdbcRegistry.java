package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the SQLite and PostgreSQL registries share: plain SQL over their own connections (history,
 * events, marking checkpoints gone). Each subclass says how a unit of work gets a connection and a
 * transaction ({@link #read}, {@link #write}).
 */
abstract class JdbcRegistry implements Registry {
    private static final String INSERT_EVENT = "INSERT INTO history (path, at, event, detail) VALUES (?, ?, ?, ?)";

    /** Runs {@code work} on a connection for reading; errors say {@code what} was being done. */
    abstract <T> T read(String what, Work<T> work);

    /** Runs {@code work} in one write transaction; errors say {@code what} was being done. */
    abstract <T> T write(String what, Work<T> work);

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
        return read("history(" + path + ")", c -> {
            try (PreparedStatement select = c.prepareStatement(
                    "SELECT path, at, event, detail FROM history WHERE path = ? ORDER BY at, id")) {
                select.setString(1, path);
                List<HistoryEvent> events = new ArrayList<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        events.add(new HistoryEvent(rs.getString(1), InstantText.parse(rs.getString(2)),
                                rs.getString(3), rs.getString(4)));
                    }
                }
                return events;
            }
        });
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

    static String change(CheckpointState previous, String note) {
        return "was " + previous.id() + (note == null || note.isEmpty() ? "" : ": " + note);
    }
}
