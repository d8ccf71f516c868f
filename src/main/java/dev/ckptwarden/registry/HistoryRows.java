package dev.ckptwarden.registry;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Reads a checkpoint's history rows, oldest first, inside whatever transaction the caller holds. */
final class HistoryRows {
    private HistoryRows() {
    }

    static List<HistoryEvent> read(Connection c, String path) throws SQLException {
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
    }
}
