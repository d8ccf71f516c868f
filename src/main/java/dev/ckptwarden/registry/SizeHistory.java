package dev.ckptwarden.registry;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

/**
 * A growth forecast's window of the registry's size history in SQL (the same on SQLite and PostgreSQL):
 * the changes before the window summed by the database, the changes inside it read one row at a time in
 * the order {@link Registry#sizeChanges(List, Instant, Instant, Consumer)} promises. The rule of which
 * rows make a change is {@link SizeChange#of}'s: an arrival at first-seen for every row that is no alias,
 * a departure at state-since for those deleted or offloaded. Instants compare as stored text, which sorts
 * as time does ({@link InstantText}).
 */
final class SizeHistory {
    /** Rows per round trip where the driver streams (PostgreSQL inside a transaction); SQLite steps anyway. */
    private static final int FETCH = 1000;

    private SizeHistory() {
    }

    /** The changes of these roots as rows (at, delta, then the columns that order equal times). */
    private static String changes(int roots) {
        String marks = String.join(", ", Collections.nCopies(roots, "?"));
        StringBuilder order = new StringBuilder("CASE root");
        for (int i = 0; i < roots; i++) {
            order.append(" WHEN ? THEN ").append(i);
        }
        order.append(" END");
        String columns = order + " AS root_order, run, step, epoch, modified, name, path";
        return "SELECT first_seen AS at, bytes AS delta, " + columns + ", 0 AS departure FROM checkpoints"
                + " WHERE root IN (" + marks + ") AND alias_of IS NULL AND first_seen IS NOT NULL"
                + " UNION ALL SELECT state_since, -bytes, " + columns + ", 1 FROM checkpoints"
                + " WHERE root IN (" + marks + ") AND alias_of IS NULL AND first_seen IS NOT NULL"
                + " AND state IN ('deleted', 'offloaded') AND state_since IS NOT NULL";
    }

    /** Binds {@link #changes}: per half of the union, the roots for the order, then for the filter. */
    private static int bind(PreparedStatement s, List<String> roots, int from) throws SQLException {
        int i = from;
        for (int half = 0; half < 2; half++) {
            for (String root : roots) {
                s.setString(++i, root);
            }
            for (String root : roots) {
                s.setString(++i, root);
            }
        }
        return i;
    }

    static SizeChange.Totals totals(Connection c, List<String> roots, Instant from, Instant to) throws SQLException {
        if (roots.isEmpty()) {
            return new SizeChange.Totals(0, 0);
        }
        try (PreparedStatement select = c.prepareStatement("SELECT"
                + " sum(CASE WHEN at < ? THEN delta ELSE 0 END), sum(CASE WHEN at >= ? AND at <= ? THEN 1 ELSE 0 END)"
                + " FROM (" + changes(roots.size()) + ") e")) {
            String start = InstantText.format(from);
            select.setString(1, start);
            select.setString(2, start);
            select.setString(3, InstantText.format(to));
            bind(select, roots, 3);
            try (ResultSet rs = select.executeQuery()) {
                rs.next();
                return new SizeChange.Totals(rs.getLong(1), rs.getLong(2));
            }
        }
    }

    /**
     * Hands the changes from {@code from} to {@code to} to {@code each}, skipping the first {@code handedOn[0]}
     * (those an earlier try on a connection that broke already handed on), and counts in {@code handedOn[0]}
     * what it hands on.
     */
    static Void window(Connection c, List<String> roots, Instant from, Instant to, long[] handedOn,
                       Consumer<SizeChange> each) throws SQLException {
        if (roots.isEmpty()) {
            return null;
        }
        try (PreparedStatement select = c.prepareStatement("SELECT at, delta FROM (" + changes(roots.size()) + ") e"
                + " WHERE at >= ? AND at <= ? ORDER BY at, root_order, run, step NULLS FIRST, epoch NULLS FIRST,"
                + " modified NULLS FIRST, name, path, departure")) {
            int i = bind(select, roots, 0);
            select.setString(++i, InstantText.format(from));
            select.setString(++i, InstantText.format(to));
            select.setFetchSize(FETCH);
            long n = 0;
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    if (n++ >= handedOn[0]) {
                        each.accept(new SizeChange(InstantText.parse(rs.getString(1)), rs.getLong(2)));
                        handedOn[0]++;
                    }
                }
            }
            return null;
        }
    }
}
