package dev.ckptwarden.registry;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: the registry's pins are journaled a second time in {@code state_dir}, rebuilt when the
 * database lost them, and an empty database beside history that cannot be rebuilt holds every deletion.
 */
class JournaledRegistryTest {
    @TempDir
    Path dir;

    private final SettableClock clock = new SettableClock(Checkpoints.T0);
    private final Registered a = Checkpoints.complete("/data", "run", "a.ckpt", 1L);
    private final Registered b = Checkpoints.complete("/data", "run", "b.ckpt", 2L);

    private JournaledRegistry open(Path state, boolean fresh) {
        return JournaledRegistry.open(SqliteRegistry.open(state, clock), state, clock, fresh);
    }

    private Path state() throws IOException {
        return Files.createDirectories(dir.resolve("state"));
    }

    private static void deleteDatabase(Path state) throws IOException {
        for (String suffix : List.of("", "-wal", "-shm")) {
            Files.deleteIfExists(state.resolve(SqliteRegistry.FILE_NAME + suffix));
        }
    }

    @Test
    void pinsAreRestoredOnTheRowsOfARebuiltDatabaseAsTheyAreRegisteredAgain() throws IOException {
        Path state = state();
        try (JournaledRegistry registry = open(state, false)) {
            registry.upsert(List.of(a, b));
            assertThat(registry.pin(a.key(), true, "paper")).isTrue();
        }
        deleteDatabase(state);

        try (JournaledRegistry registry = open(state, false)) {
            registry.upsert(List.of(a, b));

            assertThat(registry.byPath(a.key()).orElseThrow().pinned()).isTrue();
            assertThat(registry.byPath(a.key()).orElseThrow().pinReason()).isEqualTo("paper");
            assertThat(registry.byPath(b.key()).orElseThrow().pinned()).isFalse();
            assertThat(registry.deletionHold()).isEmpty();
        }
        // Restored in the database itself, not only seen through the journal.
        try (SqliteRegistry plain = SqliteRegistry.open(state, clock)) {
            assertThat(plain.pinned()).containsOnlyKeys(a.key());
        }
    }

    @Test
    void pinsOfAnExistingDatabaseAreJournaledWhenTheJournalIsFirstKept() throws IOException {
        Path state = state();
        try (SqliteRegistry older = SqliteRegistry.open(state, clock)) {
            older.upsert(List.of(a, b));
            older.pin(a.key(), true, "made before the journal existed");
        }

        open(state, false).close();

        assertThat(PinJournal.open(state, clock).pins()).containsOnlyKeys(a.key());
    }

    @Test
    void anUnpinRecordedInTheSharedDatabaseAfterThisHostsPinIsNotUndone() throws IOException {
        // Cluster mode in miniature: one database, two agents each with their own state_dir and journal.
        Path database = state();
        Path hostA = Files.createDirectories(dir.resolve("host-a"));
        Path hostB = Files.createDirectories(dir.resolve("host-b"));
        try (JournaledRegistry viaA = JournaledRegistry.open(SqliteRegistry.open(database, clock), hostA, clock, false)) {
            viaA.upsert(List.of(a));
            viaA.pin(a.key(), true, "pinned on host a");
        }
        clock.advance(Duration.ofMinutes(5));
        try (JournaledRegistry viaB = JournaledRegistry.open(SqliteRegistry.open(database, clock), hostB, clock, false)) {
            assertThat(viaB.pin(a.key(), false, null)).isTrue();
        }
        clock.advance(Duration.ofMinutes(5));

        try (JournaledRegistry viaA = JournaledRegistry.open(SqliteRegistry.open(database, clock), hostA, clock, false)) {
            assertThat(viaA.byPath(a.key()).orElseThrow().pinned()).isFalse();
            viaA.upsert(List.of(a));
            assertThat(viaA.byPath(a.key()).orElseThrow().pinned()).isFalse();
        }
        assertThat(PinJournal.open(hostA, clock).pins()).isEmpty();
    }

    @Test
    void emptyDatabaseBesideAuditHistoryWithoutJournalHoldsDeletionUntilStartedFresh() throws IOException {
        Path state = state();
        Files.writeString(state.resolve(JournaledRegistry.AUDIT_LOG), "{\"phase\":\"begin\"}\n");

        try (JournaledRegistry registry = open(state, false)) {
            assertThat(registry.deletionHold()).get().asString()
                    .contains("deleting nothing").contains("--fresh-registry");
            registry.upsert(List.of(a));
        }
        // Registering the checkpoints again does not lift the hold: only the user does.
        try (JournaledRegistry registry = open(state, false)) {
            assertThat(registry.deletionHold()).isPresent();
        }
        try (JournaledRegistry registry = open(state, true)) {
            assertThat(registry.deletionHold()).isEmpty();
        }
        try (JournaledRegistry registry = open(state, false)) {
            assertThat(registry.deletionHold()).isEmpty();
        }
    }

    @Test
    void aNewStateDirectoryStartsWithoutHold() throws IOException {
        try (JournaledRegistry registry = open(state(), false)) {
            assertThat(registry.deletionHold()).isEmpty();
        }
    }

    @Test
    void auditLogNameIsTheOneEnforcementWrites() {
        assertThat(JournaledRegistry.AUDIT_LOG).isEqualTo(dev.ckptwarden.enforce.AuditLog.FILE_NAME);
    }

    @Test
    void emptyPostgresRegistryBesideAuditHistoryHoldsDeletionAndJournaledPinsAreRestored() throws IOException {
        PostgresServer server = PostgresServer.shared();
        Path state = state();
        try (JournaledRegistry registry = JournaledRegistry.open(
                PostgresRegistry.open(server.freshDatabase(), server.env(), clock), state, clock, false)) {
            registry.upsert(List.of(a));
            registry.pin(a.key(), true, "paper");
        }
        Files.writeString(state.resolve(JournaledRegistry.AUDIT_LOG), "{\"phase\":\"begin\"}\n");

        // The shared database is lost (a new, empty one): the local journal rebuilds the pin.
        try (JournaledRegistry registry = JournaledRegistry.open(
                PostgresRegistry.open(server.freshDatabase(), server.env(), clock), state, clock, false)) {
            assertThat(registry.deletionHold()).isEmpty();
            registry.upsert(List.of(a));
            assertThat(registry.byPath(a.key()).orElseThrow().pinned()).isTrue();
        }

        // Lost together with the journal: nothing is deleted until the user starts fresh.
        Files.delete(PinJournal.file(state));
        try (JournaledRegistry registry = JournaledRegistry.open(
                PostgresRegistry.open(server.freshDatabase(), server.env(), clock), state, clock, false)) {
            assertThat(registry.deletionHold()).isPresent();
        }
    }
}
