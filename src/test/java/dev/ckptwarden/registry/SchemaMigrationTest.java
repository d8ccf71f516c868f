package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

class SchemaMigrationTest {

    @TempDir
    Path tmp;

    /** The schema 1 that released versions wrote, frozen here by hand so that an edit to migration 1 shows. */
    private static final String SCHEMA_1 = """
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
            )""";

    private static Path writeVersion1(Path stateDir) throws Exception {
        Files.createDirectories(stateDir);
        Path database = stateDir.resolve("registry.db");
        try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + database);
             Statement statement = raw.createStatement()) {
            statement.execute(SCHEMA_1);
            statement.execute("""
                    INSERT INTO checkpoints VALUES ('/data/ckpt/run1/epoch=3-step=1500.ckpt', '/data/ckpt', 'run1',
                        'epoch=3-step=1500.ckpt', '[]', 'lightning', 'file', 'complete', 3, 1500,
                        '{"val_loss":0.1234,"train_loss":"NaN"}', 7400000000, '2024-01-09T09:58:00.000000000Z', 1,
                        NULL, 1, 'best', '[]', 'sig', '2024-01-09T10:00:00.000000000Z',
                        '2024-01-09T10:00:00.000000000Z', NULL)""");
            statement.execute("""
                    INSERT INTO checkpoints VALUES ('/data/ckpt/run1/epoch=1-step=500.ckpt', '/data/ckpt', 'run1',
                        'epoch=1-step=500.ckpt', '[]', 'lightning', 'file', 'deleted', 1, 500, '{}', 7400000000,
                        '2024-01-08T09:58:00.000000000Z', 1, NULL, 0, NULL, '[]', 'sig0',
                        '2024-01-08T10:00:00.000000000Z', '2024-01-09T11:00:00.000000000Z', 'policy')""");
            statement.execute("PRAGMA user_version = 1");
        }
        return database;
    }

    private static List<String> schemaOf(Path database) throws Exception {
        List<String> schema = new ArrayList<>();
        try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + database);
             Statement statement = raw.createStatement();
             ResultSet rs = statement.executeQuery(
                     "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")) {
            while (rs.next()) {
                schema.add(rs.getString(1) + " " + rs.getString(2) + ": " + rs.getString(3).replaceAll("\\s+", " "));
            }
        }
        return schema;
    }

    @Test
    void aVersion1DatabaseIsUpgradedWithItsRowsAndTheirStoryKept() throws Exception {
        Path stateDir = tmp.resolve("old");
        Path database = writeVersion1(stateDir);
        String best = "/data/ckpt/run1/epoch=3-step=1500.ckpt";
        String deleted = "/data/ckpt/run1/epoch=1-step=500.ckpt";

        try (SqliteRegistry registry = SqliteRegistry.open(stateDir)) {
            assertThat(SqliteRegistryOpenTest.pragma(database, "user_version"))
                    .isEqualTo(Integer.toString(SqliteRegistry.schemaVersion()));
            Registered row = registry.byPath(best).orElseThrow();
            assertThat(row).isEqualTo(new Registered(new Checkpoint("/data/ckpt", "run1", "epoch=3-step=1500.ckpt",
                    Path.of(best), List.of(), Framework.LIGHTNING, CheckpointKind.FILE, 3, 1500L, Map.of("val_loss",
                    0.1234, "train_loss", Double.NaN), 7_400_000_000L, Instant.parse("2024-01-09T09:58:00Z"), true,
                    null, List.of(), List.of(), "sig"), CheckpointState.COMPLETE, null, true, "best",
                    Instant.parse("2024-01-09T10:00:00Z"), Instant.parse("2024-01-09T10:00:00Z")));
            assertThat(registry.list(null, null, true)).hasSize(2);

            assertThat(registry.history(best))
                    .extracting(HistoryEvent::at, HistoryEvent::event, HistoryEvent::detail)
                    .containsExactly(tuple(Instant.parse("2024-01-09T10:00:00Z"), "seen", null));
            assertThat(registry.history(deleted))
                    .extracting(HistoryEvent::at, HistoryEvent::event, HistoryEvent::detail)
                    .containsExactly(
                            tuple(Instant.parse("2024-01-08T10:00:00Z"), "seen", null),
                            tuple(Instant.parse("2024-01-09T11:00:00Z"), "deleted", "policy"));

            assertThat(registry.pin(best, false, "new baseline")).isTrue();
            assertThat(registry.history(best)).extracting(HistoryEvent::event).containsExactly("seen", "unpinned");
        }
    }

    @Test
    void anUpgradedDatabaseHasExactlyTheSchemaOfAFreshOne() throws Exception {
        Path upgraded = writeVersion1(tmp.resolve("old"));
        SqliteRegistry.open(tmp.resolve("old")).close();
        SqliteRegistry.open(tmp.resolve("fresh")).close();

        assertThat(schemaOf(upgraded))
                .isNotEmpty()
                .containsExactlyElementsOf(schemaOf(tmp.resolve("fresh/registry.db")));
        assertThat(schemaOf(upgraded)).anyMatch(line -> line.startsWith("table history:"));
    }

    @Test
    void migrationsAreNumberedOneByOneAndTheFirstIsTheFrozenSchema1() {
        for (int i = 0; i < Schema.MIGRATIONS.size(); i++) {
            assertThat(Schema.MIGRATIONS.get(i).version()).isEqualTo(i + 1);
        }
        assertThat(Schema.MIGRATIONS.get(0).statements())
                .containsExactly(SCHEMA_1);
    }
}
