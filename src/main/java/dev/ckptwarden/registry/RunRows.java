package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.Checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The run-by-run reads of {@link JdbcRegistry} (the same SQL on SQLite and PostgreSQL): how many present
 * checkpoints each run of a root has, and the rows of a batch of runs. A pass visits a root with them
 * ({@link PresentRuns}) instead of reading the whole root into memory at once.
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

    /** The present checkpoints of these runs of a root, in no particular order. */
    static List<Checkpoint> present(Connection c, String root, Collection<String> runs) throws SQLException {
        List<String> all = new ArrayList<>(new LinkedHashSet<>(runs));
        List<Checkpoint> out = new ArrayList<>();
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
