package dev.ckptwarden.registry;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The registry's schema as an ordered list of migrations, tracked in {@code PRAGMA user_version}.
 * A released migration is never edited: a change to the schema is a new migration at the end.
 * Instants are stored as fixed-width ISO-8601 UTC text with nine fraction digits
 * ({@code 2024-01-09T10:00:00.000000000Z}): exact, readable in the sqlite3 shell, and ordered by
 * plain text comparison (for years 0000 to 9999).
 */
final class Schema {

    static final List<Migration> MIGRATIONS = List.of(
            new Migration(1, "checkpoints table", List.of("""
                    CREATE TABLE checkpoints (
                        path        TEXT    NOT NULL PRIMARY KEY,
                        root        TEXT    NOT NULL,
                        run         TEXT    NOT NULL,
                        name        TEXT    NOT NULL,
                        members     TEXT    NOT NULL DEFAULT '[]',
                        framework   TEXT    NOT NULL,
                        kind        TEXT    NOT NULL,
                        state       TEXT    NOT NULL,
                        epoch       INTEGER,
                        step        INTEGER,
                        metrics     TEXT    NOT NULL DEFAULT '{}',
                        bytes       INTEGER NOT NULL,
                        modified    TEXT,
                        resumable   INTEGER,
                        alias_of    TEXT,
                        pinned      INTEGER NOT NULL DEFAULT 0,
                        pin_reason  TEXT,
                        problems    TEXT    NOT NULL DEFAULT '[]',
                        signature   TEXT,
                        first_seen  TEXT    NOT NULL,
                        state_since TEXT    NOT NULL,
                        note        TEXT
                    )""")),
            // Version 2 starts keeping history. Rows registered before it get the two facts schema 1
            // held: when the checkpoint was first seen, and since when it is in its current state.
            new Migration(2, "history table and lookup indexes", List.of("""
                    CREATE TABLE history (
                        id     INTEGER PRIMARY KEY,
                        path   TEXT NOT NULL REFERENCES checkpoints(path),
                        at     TEXT NOT NULL,
                        event  TEXT NOT NULL,
                        detail TEXT
                    )""",
                    "CREATE INDEX history_path_at ON history(path, at)",
                    "CREATE INDEX checkpoints_root_run ON checkpoints(root, run)",
                    "INSERT INTO history(path, at, event, detail) SELECT path, first_seen, 'seen', NULL FROM checkpoints",
                    """
                    INSERT INTO history(path, at, event, detail)
                    SELECT path, state_since, state, note FROM checkpoints WHERE state_since <> first_seen""")),
            // Version 3 records which checkpoints a checkpoint names as its best (HF best_model_checkpoint,
            // Lightning best_model_path), so retention can protect them like alias targets.
            new Migration(3, "best-checkpoint references", List.of(
                    "ALTER TABLE checkpoints ADD COLUMN refs TEXT NOT NULL DEFAULT '[]'")),
            // Version 4 gives the database a random id, once: a file emptied and created again under the running
            // agent has another, and the agent stops deleting (RegistryIdentity).
            new Migration(4, "registry identity", List.of(
                    "CREATE TABLE registry_identity (id TEXT NOT NULL)",
                    "INSERT INTO registry_identity (id) VALUES (lower(hex(randomblob(16))))")));

    static final int CURRENT_VERSION = MIGRATIONS.get(MIGRATIONS.size() - 1).version();

    private Schema() {
    }

    /** Brings the database up to {@link #CURRENT_VERSION}, one transaction per migration. */
    static void upgrade(Connection connection, Path database) throws SQLException {
        int found = userVersion(connection);
        if (found > CURRENT_VERSION) {
            throw new RegistryException(database, "schema version " + found
                    + " is newer than this ckpt-warden understands (" + CURRENT_VERSION + "); run a newer ckpt-warden");
        }
        for (Migration migration : MIGRATIONS) {
            if (migration.version() > found) {
                apply(connection, database, migration);
            }
        }
    }

    static int userVersion(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("PRAGMA user_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }

    private static void apply(Connection connection, Path database, Migration migration) throws SQLException {
        connection.setAutoCommit(false);
        try (Statement statement = connection.createStatement()) {
            // Another process may have migrated while we waited for the write lock.
            int now = userVersion(connection);
            if (now >= migration.version()) {
                connection.rollback();
                return;
            }
            if (now != migration.version() - 1) {
                throw new RegistryException(database, "schema version " + now + " cannot be migrated to "
                        + migration.version() + " (" + migration.description() + ")");
            }
            for (String sql : migration.statements()) {
                statement.execute(sql);
            }
            statement.execute("PRAGMA user_version = " + migration.version());
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                connection.rollback();
            } catch (SQLException noTransaction) {
                // SQLite already rolled back (a full disk does): the first error is the one that matters.
                e.addSuppressed(noTransaction);
            }
            if (e instanceof RegistryException registryException) {
                throw registryException;
            }
            throw new RegistryException(database, "schema migration to version " + migration.version()
                    + " (" + migration.description() + ") failed: " + oneLine(e.getMessage()), e);
        } finally {
            connection.setAutoCommit(true);
        }
    }

    static String oneLine(String message) {
        return message == null ? "no detail" : message.replaceAll("\\s+", " ").trim();
    }
}
