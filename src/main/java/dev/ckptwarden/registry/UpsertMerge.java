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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an upsert keeps of the row it replaces, and the history it writes. An existing row keeps its
 * {@code firstSeen} and pin, and its {@code stateSince} while the state is unchanged; a row in state
 * deleted or offloaded is replaced whole by a checkpoint that appears again at its path (its history
 * stays). A {@code firstSeen} or {@code stateSince} left null is stamped with the registry's clock.
 *
 * <p>History events: {@code seen} (first registration, detail: the state), {@code reappeared} (a new
 * checkpoint at the path of a deleted or offloaded one), and a state id ({@code writing},
 * {@code complete}, {@code corrupt}, {@code deleted}, {@code offloaded}) on every state change (detail:
 * the previous state and the note).
 *
 * <p><b>A checkpoint put back by hand is not a new save.</b> A file that reappears at the path of a deleted
 * or offloaded checkpoint with that checkpoint's size and modification time (to the second) is the same file
 * back ({@code mv}, {@code cp -p}, {@code rsync -a} from a copy): it keeps its {@code firstSeen}, its
 * {@code reappeared} event says so ({@value #PUT_BACK}), and when it is complete again its completion time
 * is the one it had before it went away. Counted as new, it would be the newest save of its run: what
 * {@code resolve latest} answers and what {@code keep_last} protects, at the cost of a save that is really
 * newer. A job writing the same name again writes a new modification time, and that is a new save.
 */
final class UpsertMerge {

    /** Batches larger than this look up their stored rows {@value #PATHS_PER_QUERY} paths a query rather than one by one. */
    static final int BULK_LOOKUP = 64;

    /** The stored columns a merge needs. */
    static final String STORED_COLUMNS = "state, first_seen, state_since, pinned, pin_reason, bytes, modified";
    /** Ends the detail of a {@code reappeared} event for the same file put back at its path. */
    static final String PUT_BACK = "the same file put back (size and modification time as before)";
    /** Looks up one stored row; its one parameter is the path. */
    static final String FIND = "SELECT " + STORED_COLUMNS + " FROM checkpoints WHERE path = ?";

    /** What upsert needs of an existing row. */
    record Stored(CheckpointState state, String firstSeen, String stateSince, boolean pinned, String pinReason,
                  long bytes, String modified) {

        /** From the current row of a select of {@link #STORED_COLUMNS}, starting at column {@code from}. */
        static Stored read(ResultSet rs, int from) throws SQLException {
            return new Stored(CheckpointState.fromId(rs.getString(from)), rs.getString(from + 1),
                    rs.getString(from + 2), rs.getBoolean(from + 3), rs.getString(from + 4), rs.getLong(from + 5),
                    rs.getString(from + 6));
        }

        /** Whether {@code incoming} is this gone checkpoint's file back: its size, and its modification time to the second. */
        boolean sameFileAs(Registered incoming) {
            return !state.present() && modified != null && incoming.modified() != null && bytes == incoming.bytes()
                    && InstantText.parse(modified).getEpochSecond() == incoming.modified().getEpochSecond();
        }

        /** Whether this row may be a put-back file: first seen before its present state began (cheap test before history). */
        boolean firstSeenBeforeState() {
            return firstSeen != null && stateSince != null
                    && InstantText.parse(firstSeen).isBefore(InstantText.parse(stateSince));
        }
    }

    /** The registry's own columns of the row an upsert writes. */
    record Kept(String firstSeen, String stateSince, boolean pinned, String pinReason) {
    }

    private UpsertMerge() {
    }

    /** Paths looked up per query by {@link #storedByRoot}: well below SQLite's and PostgreSQL's bound on parameters. */
    static final int PATHS_PER_QUERY = 500;

    /**
     * The stored rows of {@code batch}'s checkpoints that are registered under the checkpoint's own root, by
     * path: one query per {@value #PATHS_PER_QUERY} paths instead of one per row. Only the batch's own paths
     * are read: a pass registers a root run by run, and reading every row of the root for each run made a
     * first pass quadratic in the root's size. A batch of more than {@value #PATHS_PER_QUERY} paths of one root
     * reads that root's rows in one query instead.
     */
    private static void readRoot(Connection c, String root, Map<String, Stored> out) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(
                "SELECT path, " + STORED_COLUMNS + " FROM checkpoints WHERE root = ?")) {
            select.setString(1, root);
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), Stored.read(rs, 2));
                }
            }
        }
    }

    static Map<String, Stored> storedByRoot(Connection c, Collection<Registered> batch) throws SQLException {
        Map<String, List<String>> pathsByRoot = new TreeMap<>();
        for (Registered cp : batch) {
            pathsByRoot.computeIfAbsent(cp.root(), k -> new ArrayList<>()).add(cp.key());
        }
        Map<String, Stored> out = new HashMap<>();
        for (Map.Entry<String, List<String>> root : pathsByRoot.entrySet()) {
            List<String> paths = root.getValue();
            if (paths.size() > PATHS_PER_QUERY) {
                // A batch this large is most of a root (a rescan registering it at once): one read of the root
                // beats many lookups by path (20,000 rows on PostgreSQL: 1.5 s against 16.6 s).
                readRoot(c, root.getKey(), out);
                continue;
            }
            for (int from = 0; from < paths.size(); from += PATHS_PER_QUERY) {
                List<String> chunk = paths.subList(from, Math.min(paths.size(), from + PATHS_PER_QUERY));
                // By primary key only: with "root = ?" in the query SQLite may walk the root's index instead.
                String sql = "SELECT path, root, " + STORED_COLUMNS + " FROM checkpoints WHERE path IN ("
                        + "?,".repeat(chunk.size() - 1) + "?)";
                try (PreparedStatement select = c.prepareStatement(sql)) {
                    for (int i = 0; i < chunk.size(); i++) {
                        select.setString(i + 1, chunk.get(i));
                    }
                    try (ResultSet rs = select.executeQuery()) {
                        while (rs.next()) {
                            if (root.getKey().equals(rs.getString(2))) {
                                out.put(rs.getString(1), Stored.read(rs, 3));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The stored row at {@code path} through a prepared {@link #FIND}, or null. */
    static Stored stored(PreparedStatement find, String path) throws SQLException {
        find.setString(1, path);
        try (ResultSet rs = find.executeQuery()) {
            return rs.next() ? Stored.read(rs, 1) : null;
        }
    }

    /**
     * What the row written for {@code incoming} over {@code stored} (null: none) keeps, adding the history
     * events this causes to {@code events}; {@code c} reads the history of a checkpoint put back by hand.
     */
    static Kept merge(Stored stored, Registered incoming, String now, List<JdbcRegistry.PendingEvent> events,
                      Connection c) throws SQLException {
        String path = incoming.key();
        CheckpointState state = incoming.state();
        String incomingSince = incoming.stateSince() != null ? InstantText.format(incoming.stateSince()) : now;
        if (stored == null || !stored.state().present()) {
            String firstSeen = incoming.firstSeen() != null ? InstantText.format(incoming.firstSeen()) : now;
            if (stored == null) {
                events.add(new JdbcRegistry.PendingEvent(path, firstSeen, HistoryEvent.SEEN, state.id()));
            } else if (state.present()) {
                boolean putBack = stored.sameFileAs(incoming);
                String since = incomingSince;
                if (putBack) {
                    firstSeen = stored.firstSeen();
                    if (state == CheckpointState.COMPLETE) {
                        since = completedBefore(HistoryRows.read(c, path), incomingSince, true);
                    }
                }
                events.add(new JdbcRegistry.PendingEvent(path, putBack ? incomingSince : firstSeen, HistoryEvent.REAPPEARED,
                        state.id() + ", was " + stored.state().id() + (putBack ? "; " + PUT_BACK : "")));
                return new Kept(firstSeen, since, incoming.pinned(), incoming.pinned() ? incoming.pinReason() : null);
            } else if (state != stored.state()) {
                events.add(new JdbcRegistry.PendingEvent(path, incomingSince, state.id(),
                        change(stored.state(), incoming.note())));
            }
            return new Kept(firstSeen, incomingSince, incoming.pinned(), incoming.pinned() ? incoming.pinReason() : null);
        }
        String stateSince = stored.stateSince();
        if (state != stored.state()) {
            stateSince = incomingSince;
            events.add(new JdbcRegistry.PendingEvent(path, stateSince, state.id(), change(stored.state(), incoming.note())));
            if (state == CheckpointState.COMPLETE && stored.firstSeenBeforeState()) {
                stateSince = completedBefore(HistoryRows.read(c, path), stateSince, false);
            }
        }
        return new Kept(stored.firstSeen(), stateSince, stored.pinned(), stored.pinReason());
    }

    /**
     * The completion time of a checkpoint becoming complete now ({@code now}), from its {@code history}: if it
     * is its own file put back ({@code puttingBack}: by this very upsert; else by its last reappearance),
     * when it had last become complete before that, or {@code now} when its history does not say.
     */
    static String completedBefore(List<HistoryEvent> history, String now, boolean puttingBack) {
        Instant lastComplete = null;
        boolean putBack = puttingBack;
        Instant completion = null;
        for (HistoryEvent h : history) {
            if (HistoryEvent.REAPPEARED.equals(h.event())) {
                putBack = h.detail() != null && h.detail().endsWith(PUT_BACK);
                completion = lastComplete;
            }
            if (h.becameComplete()) {
                lastComplete = h.at();
            }
        }
        Instant at = puttingBack ? lastComplete : putBack ? completion : null;
        return at != null ? InstantText.format(at) : now;
    }

    /** The detail of a state-change event: the state left, and why. */
    static String change(CheckpointState previous, String note) {
        return "was " + previous.id() + (note == null || note.isEmpty() ? "" : ": " + note);
    }
}
