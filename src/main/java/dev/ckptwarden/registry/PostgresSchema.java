package dev.ckptwarden.registry;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The shared registry's schema in PostgreSQL, as ordered migrations tracked in the one-row table
 * {@code ckpt_warden_schema}. The same ideas as {@link Schema}: instants as fixed-width ISO-8601 UTC
 * text with nine fraction digits (PostgreSQL's timestamps keep microseconds only, and file times have
 * nanoseconds), and every text column that is sorted or compared in {@code COLLATE "C"}, so that
 * listings come out in byte order whatever the database's locale. A released migration is never
 * edited: a change is a new migration at the end.
 */
final class PostgresSchema {

    /** Key of the transaction-level advisory lock that serialises migrations and registry writes. */
    static final long WRITE_LOCK = 0x636b_7074_7772_6431L; // "ckptwrd1"

    /** Set for the rest of a transaction once it has raised {@code registry_changes.counter}. */
    static final String COUNTED = "ckpt_warden.counted";

    /**
     * Raises the change counter for the calling write transaction and marks it counted (its later statements
     * do not raise it again); returns the new value. Run after the write lock is taken.
     */
    static final String COUNT_CHANGE = "UPDATE registry_changes SET counter = counter + 1"
            + " RETURNING counter, set_config('" + COUNTED + "', 'yes', true)";

    /** The change counter as committed. */
    static final String CHANGES = "SELECT counter FROM registry_changes";

    static final List<Migration> MIGRATIONS = List.of(
            new Migration(1, "checkpoints and history tables", List.of("""
                    CREATE TABLE checkpoints (
                        path        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                        root        TEXT COLLATE "C" NOT NULL,
                        run         TEXT COLLATE "C" NOT NULL,
                        name        TEXT COLLATE "C" NOT NULL,
                        members     TEXT    NOT NULL DEFAULT '[]',
                        framework   TEXT    NOT NULL,
                        kind        TEXT    NOT NULL,
                        state       TEXT    NOT NULL,
                        epoch       INTEGER,
                        step        BIGINT,
                        metrics     TEXT    NOT NULL DEFAULT '{}',
                        bytes       BIGINT  NOT NULL,
                        modified    TEXT COLLATE "C",
                        resumable   BOOLEAN,
                        alias_of    TEXT,
                        pinned      BOOLEAN NOT NULL DEFAULT FALSE,
                        pin_reason  TEXT,
                        problems    TEXT    NOT NULL DEFAULT '[]',
                        signature   TEXT,
                        first_seen  TEXT COLLATE "C" NOT NULL,
                        state_since TEXT COLLATE "C" NOT NULL,
                        note        TEXT,
                        refs        TEXT    NOT NULL DEFAULT '[]'
                    )""", """
                    CREATE TABLE history (
                        id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        path   TEXT COLLATE "C" NOT NULL REFERENCES checkpoints(path),
                        at     TEXT COLLATE "C" NOT NULL,
                        event  TEXT NOT NULL,
                        detail TEXT
                    )""",
                    "CREATE INDEX history_path_at ON history(path, at)",
                    "CREATE INDEX checkpoints_root_run ON checkpoints(root, run)")),
            // Cluster mode: one row per lease; the fencing token only ever grows.
            new Migration(2, "leases table", List.of("""
                    CREATE TABLE leases (
                        name        TEXT        NOT NULL PRIMARY KEY,
                        holder      TEXT,
                        token       BIGINT      NOT NULL DEFAULT 0,
                        expires_at  TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
                        acquired_at TIMESTAMPTZ
                    )""")),
            // Cluster mode: secrets the agents share (the trash manifest key), made once by the first to ask.
            new Migration(3, "secrets table", List.of("""
                    CREATE TABLE secrets (
                        name  TEXT  NOT NULL PRIMARY KEY,
                        value BYTEA NOT NULL
                    )""")),
            // A random id given once, when the schema is created: a database dropped and created again under
            // running agents has another, and they stop deleting (RegistryIdentity). md5 of random(), not
            // gen_random_uuid(): the id only has to differ between databases, on any PostgreSQL version.
            new Migration(4, "registry identity", List.of(
                    "CREATE TABLE registry_identity (id TEXT NOT NULL)",
                    "INSERT INTO registry_identity (id) VALUES (md5(random()::text || clock_timestamp()::text))")),
            // A counter that every transaction changing checkpoint rows raises by one, in that transaction: an agent
            // tells from it whether anyone else wrote since it last looked, and reuses the rows it read when no one
            // did (PostgresRegistry#externalChangeCounter). The registry's own writes raise it first thing (under
            // the write lock) and mark the transaction counted; the trigger covers every other writer (an older
            // agent still running during an upgrade, SQL by hand), so no change can go uncounted.
            new Migration(5, "change counter", List.of(
                    "CREATE TABLE registry_changes (counter BIGINT NOT NULL)",
                    "INSERT INTO registry_changes (counter) VALUES (0)",
                    """
                    CREATE FUNCTION ckpt_warden_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF current_setting('%1$s', true) IS DISTINCT FROM 'yes' THEN
                            UPDATE registry_changes SET counter = counter + 1;
                            PERFORM set_config('%1$s', 'yes', true);
                        END IF;
                        RETURN NULL;
                    END $$""".formatted(COUNTED),
                    "CREATE TRIGGER checkpoints_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON checkpoints"
                            + " FOR EACH STATEMENT EXECUTE PROCEDURE ckpt_warden_count_change()")));

    static final int CURRENT_VERSION = MIGRATIONS.get(MIGRATIONS.size() - 1).version();

    private PostgresSchema() {
    }

    /**
     * Brings the database up to {@link #CURRENT_VERSION} in one transaction, holding the write lock so
     * that agents starting together migrate once.
     */
    static void upgrade(Connection connection, String location) throws SQLException {
        connection.setAutoCommit(false);
        try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT pg_advisory_xact_lock(" + WRITE_LOCK + ")");
            // Looked up rather than CREATE ... IF NOT EXISTS: a user without CREATE rights (PostgreSQL 15
            // grants none on schema public) can still use a database an administrator set up.
            boolean exists;
            try (ResultSet rs = statement.executeQuery("SELECT to_regclass('ckpt_warden_schema') IS NOT NULL")) {
                exists = rs.next() && rs.getBoolean(1);
            }
            if (!exists) {
                statement.execute("CREATE TABLE ckpt_warden_schema (version INTEGER NOT NULL)");
            }
            int found = version(statement);
            if (found > CURRENT_VERSION) {
                throw new RegistryException(location, "schema version " + found
                        + " is newer than this ckpt-warden understands (" + CURRENT_VERSION + "); run a newer ckpt-warden",
                        null);
            }
            for (Migration migration : MIGRATIONS) {
                if (migration.version() > found) {
                    for (String sql : migration.statements()) {
                        statement.execute(sql);
                    }
                }
            }
            if (found < CURRENT_VERSION) {
                statement.execute("DELETE FROM ckpt_warden_schema");
                statement.execute("INSERT INTO ckpt_warden_schema (version) VALUES (" + CURRENT_VERSION + ")");
            }
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    /** The version recorded in the database, 0 for an empty one. */
    static int version(Statement statement) throws SQLException {
        try (ResultSet rs = statement.executeQuery("SELECT max(version) FROM ckpt_warden_schema")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }
}
