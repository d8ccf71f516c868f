package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The reads of {@link JdbcRegistry} that spare a pass a whole root in memory (the same SQL on SQLite and
 * PostgreSQL): how many present checkpoints each run of a root has, the rows of a batch of runs (a pass
 * visits a root with them, {@link PresentRuns}), and the root's size history without a checkpoint per row.
 */
final class RunRows {
    /** Runs per {@code IN (...)}: well under either database's parameter limit. */
    private static final int RUNS_PER_QUERY = 500;

    private RunRows() {
    }

    /** Run id (in {@code String} order, not the database's collation) to its count of present checkpoints. */
    static SortedMap<String, Integer> counts(Connection c, String root) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT run, count(*) FROM checkpoints"
                + " WHERE root = ? AND state IN " + CheckpointRows.PRESENT_STATES + " GROUP BY run")) {
            select.setString(1, root);
            SortedMap<String, Integer> out = new TreeMap<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getInt(2));
                }
            }
            return out;
        }
    }

    /**
     * The latest state-since among a root's present checkpoints (stored text sorts as time does,
     * {@link InstantText}), or null.
     */
    static java.time.Instant latestStateSince(Connection c, String root) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT max(state_since) FROM checkpoints"
                + " WHERE root = ? AND state IN " + CheckpointRows.PRESENT_STATES)) {
            select.setString(1, root);
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? InstantText.parse(rs.getString(1)) : null;
            }
        }
    }

    /** A root's {@link SizeChange}s, history included, its rows in {@code order} (that of {@link JdbcRegistry#list}). */
    static List<SizeChange> sizeChanges(Connection c, String root, String order) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT first_seen, bytes, state, state_since, alias_of"
                + " FROM checkpoints WHERE root = ?" + order)) {
            select.setString(1, root);
            List<SizeChange> out = new ArrayList<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    String firstSeen = rs.getString(1);
                    long bytes = rs.getLong(2);
                    String state = rs.getString(3);
                    String stateSince = rs.getString(4);
                    boolean own = rs.getString(5) == null;
                    if (own && firstSeen != null) {
                        SizeChange.of(true, InstantText.parse(firstSeen), bytes, CheckpointState.fromId(state),
                                stateSince == null ? null : InstantText.parse(stateSince), out);
                    }
                }
            }
            return out;
        }
    }

    /** One run's present rows as a pass needs them to tell the run unchanged: four columns, no row read whole. */
    static SettledRun settled(Connection c, String root, String run) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(SETTLED + " AND run = ?")) {
            select.setString(1, root);
            select.setString(2, run);
            SettledRun.Builder out = new SettledRun.Builder();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    add(out, rs);
                }
            }
            return out.build();
        }
    }

    /** {@link #settled(Connection, String, String)} of every run of a root, in one query. */
    static Map<String, SettledRun> settled(Connection c, String root) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(SETTLED)) {
            select.setString(1, root);
            Map<String, SettledRun.Builder> runs = new HashMap<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    add(runs.computeIfAbsent(rs.getString(6), k -> new SettledRun.Builder()), rs);
                }
            }
            return SettledRun.Builder.buildAll(runs);
        }
    }

    private static final String SETTLED = "SELECT path, signature, state, alias_of IS NOT NULL, state_since, run"
            + " FROM checkpoints WHERE root = ? AND state IN " + CheckpointRows.PRESENT_STATES;

    private static void add(SettledRun.Builder run, ResultSet rs) throws SQLException {
        run.add(rs.getString(1), rs.getString(2), CheckpointState.fromId(rs.getString(3)), rs.getBoolean(4),
                InstantText.parse(rs.getString(5)));
    }

    /** The present checkpoints of these runs of a root, in no particular order. */
    static List<Registered> present(Connection c, String root, Collection<String> runs) throws SQLException {
        List<String> all = new ArrayList<>(new LinkedHashSet<>(runs));
        List<Registered> out = new ArrayList<>();
        for (int from = 0; from < all.size(); from += RUNS_PER_QUERY) {
            List<String> chunk = all.subList(from, Math.min(all.size(), from + RUNS_PER_QUERY));
            String marks = String.join(",", Collections.nCopies(chunk.size(), "?"));
            try (PreparedStatement select = c.prepareStatement("SELECT " + CheckpointRows.COLUMNS
                    + " FROM checkpoints WHERE root = ? AND state IN " + CheckpointRows.PRESENT_STATES
                    + " AND run IN (" + marks + ")")) {
                select.setString(1, root);
                for (int i = 0; i < chunk.size(); i++) {
                    select.setString(i + 2, chunk.get(i));
                }
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        out.add(CheckpointRows.read(rs));
                    }
                }
            }
        }
        return out;
    }
}
