package dev.ckptwarden.enforce;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.JournaledRegistry;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.LogLines;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import dev.ckptwarden.watch.Reconciler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The database under a running agent loses its data: its schema is dropped and created again (a
 * restored or re-initialised PostgreSQL, another agent migrating the empty database at its start, a
 * SQLite file emptied in place). The agent remembered the registry's identity when it opened it; from
 * the next batch on it deletes nothing, says so in one log line, and the hold outlives a restart
 * until the user starts fresh, as for a registry found empty at start.
 */
class RegistryReplacedWhileRunningTest {

    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path tree;
    @TempDir
    Path state;

    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));

    private RootConfig rootConfig(Path root) {
        return new RootConfig("shared", root.toString(), Layout.AUTO, List.of(), new Retention(1, null, null, null),
                Quota.NONE, DiskWatermark.NONE, Action.DELETE, null, List.of());
    }

    private Path ckpt(Path root, long step) throws IOException {
        Path p = root.resolve("run/epoch=1-step=" + step + ".ckpt");
        Files.createDirectories(p.getParent());
        return TreeBuilder.lightningCkpt(p, 1, step, true, T0.plusSeconds(step));
    }

    private static List<String> onDisk(Path root) throws IOException {
        try (Stream<Path> files = Files.list(root.resolve("run"))) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    /** One agent pass: register what is on disk, plan from the registry, enforce. */
    private EnforcementReport pass(Registry registry, Enforcer enforcer, Path root) throws IOException {
        RootConfig rc = rootConfig(root);
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rc));
        new Reconciler(registry, clock).reconcile(config, rc);
        EvictionPlan plan = EvictionPlan.of(registry, List.of(rc), Map.of("shared", root), null, clock.instant());
        return enforcer.enforce(rc, root, plan.evictions("shared"), false, clock.instant());
    }

    @Test
    void aClusterRegistryRecreatedUnderTheRunningHolderStopsItsDeletionsUntilStartedFresh() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        Path root = tree.toRealPath();
        ckpt(root, 10);
        ckpt(root, 20);
        try (LogLines log = LogLines.capture();
             JournaledRegistry registry = JournaledRegistry.open(PostgresRegistry.open(url, server.env(), clock),
                     state, clock, false);
             AuditLog audit = AuditLog.open(state, clock)) {
            Lease lease = ((PostgresRegistry) registry.delegate()).lease(Lease.ENFORCEMENT, "host-a:101:t0",
                    Duration.ofMinutes(10));
            Enforcer enforcer = new Enforcer(registry, audit);
            enforcer.guardWith(lease::checkHeld);
            assertThat(lease.acquire()).isTrue();
            assertThat(pass(registry, enforcer, root).items()).singleElement()
                    .satisfies(i -> assertThat(i.outcome()).isEqualTo("ok"));

            // The database loses everything; another agent starting migrates the empty database again and
            // creates the lease, free.
            server.execute(url, "DROP SCHEMA public CASCADE");
            server.execute(url, "CREATE SCHEMA public");
            try (PostgresRegistry other = PostgresRegistry.open(url, server.env(), clock)) {
                other.lease(Lease.ENFORCEMENT, "host-b:202:t0", Duration.ofMinutes(10));
            }
            ckpt(root, 30);
            ckpt(root, 40);
            // The holder's next renewal finds a free lease in the new database and takes it (token 1 again).
            assertThat(lease.acquire()).isTrue();

            EnforcementReport afterLoss = pass(registry, enforcer, root);

            assertThat(afterLoss.items()).isNotEmpty().allSatisfy(i ->
                    assertThat(i.outcome()).isEqualTo("failed:not allowed to delete"));
            assertThat(afterLoss.problems()).singleElement().asString()
                    .contains("deleting nothing").contains("replaced").contains("--fresh-registry");
            assertThat(onDisk(root)).containsExactly("epoch=1-step=20.ckpt", "epoch=1-step=30.ckpt",
                    "epoch=1-step=40.ckpt");
            assertThat(registry.held()).as("what the metric and /healthz read").isTrue();

            pass(registry, enforcer, root);
            assertThat(log.lines()).filteredOn(l -> l.contains("replaced"))
                    .as("one line when it is found, not one per pass").hasSize(1)
                    .allSatisfy(l -> assertThat(l).startsWith("ERROR").contains("postgresql://"));
            assertThat(log.withStackTraces()).isEmpty();
        }
        // A restart remembers the new database, and still deletes nothing until the user starts fresh.
        try (JournaledRegistry restarted = JournaledRegistry.open(PostgresRegistry.open(url, server.env(), clock),
                state, clock, false)) {
            assertThat(restarted.deletionHold()).get().asString().contains("replaced");
        }
        try (JournaledRegistry fresh = JournaledRegistry.open(PostgresRegistry.open(url, server.env(), clock),
                state, clock, true)) {
            assertThat(fresh.deletionHold()).isEmpty();
        }
    }

    @Test
    void aSqliteRegistryEmptiedAndRecreatedInPlaceUnderTheRunningAgentStopsItsDeletions() throws Exception {
        Path root = tree.toRealPath();
        ckpt(root, 10);
        ckpt(root, 20);
        try (JournaledRegistry registry = JournaledRegistry.open(SqliteRegistry.open(state, clock), state, clock, false);
             AuditLog audit = AuditLog.open(state, clock)) {
            Enforcer enforcer = new Enforcer(registry, audit);
            assertThat(pass(registry, enforcer, root).items()).singleElement()
                    .satisfies(i -> assertThat(i.outcome()).isEqualTo("ok"));

            // Someone empties the database file in place (sqlite3 shell) and a command run beside the agent
            // creates the schema again.
            Path db = state.resolve(SqliteRegistry.FILE_NAME);
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
                s.execute("PRAGMA foreign_keys = OFF");
                try (var tables = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'"
                        + " AND name NOT LIKE 'sqlite_%'")) {
                    List<String> names = new java.util.ArrayList<>();
                    while (tables.next()) {
                        names.add(tables.getString(1));
                    }
                    for (String t : names) {
                        s.execute("DROP TABLE " + t);
                    }
                }
                s.execute("PRAGMA user_version = 0");
            } catch (SQLException e) {
                throw new AssertionError(e);
            }
            SqliteRegistry.open(state, clock).close();
            ckpt(root, 30);

            EnforcementReport afterLoss = pass(registry, enforcer, root);

            assertThat(afterLoss.items()).isNotEmpty().allSatisfy(i ->
                    assertThat(i.outcome()).isEqualTo("failed:not allowed to delete"));
            assertThat(onDisk(root)).containsExactly("epoch=1-step=20.ckpt", "epoch=1-step=30.ckpt");
            assertThat(registry.deletionHold()).get().asString().contains("replaced").contains(db.toString());
        }
    }

    /** The checkpoints a registry file holds, as a fresh open of it reads them (not the running agent's connection). */
    private List<String> registeredIn(Path stateDir) {
        try (SqliteRegistry fresh = SqliteRegistry.open(stateDir, clock)) {
            return fresh.list("shared", null, true).stream()
                    .map(c -> c.path().getFileName() + " " + c.state().id()).sorted().toList();
        }
    }

    /**
     * Another database file is renamed over registry.db while the agent runs (a restore, another process's
     * fresh database): the agent's connection still reads and writes the old, unlinked file, whose identity has
     * not changed. The next batch sees that the path names another file, holds deletions as for a registry
     * replaced in place (one log line), and from then on the agent registers into the file that has the name.
     */
    @Test
    void aSqliteRegistryFileReplacedByRenameUnderTheRunningAgentStopsItsDeletions() throws Exception {
        Path root = tree.toRealPath();
        ckpt(root, 10);
        ckpt(root, 20);
        Path db = state.resolve(SqliteRegistry.FILE_NAME);
        try (LogLines log = LogLines.capture();
             JournaledRegistry registry = JournaledRegistry.open(SqliteRegistry.open(state, clock), state, clock, false);
             AuditLog audit = AuditLog.open(state, clock)) {
            Enforcer enforcer = new Enforcer(registry, audit);
            assertThat(pass(registry, enforcer, root).items()).singleElement()
                    .satisfies(i -> assertThat(i.outcome()).isEqualTo("ok"));

            Path elsewhere = Files.createDirectories(tree.resolveSibling(tree.getFileName() + "-other"));
            SqliteRegistry.open(elsewhere, clock).close(); // a blank registry of its own identity
            Files.move(elsewhere.resolve(SqliteRegistry.FILE_NAME), db, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            ckpt(root, 30);

            EnforcementReport afterSwap = pass(registry, enforcer, root);

            assertThat(afterSwap.items()).isNotEmpty().allSatisfy(i ->
                    assertThat(i.outcome()).isEqualTo("failed:not allowed to delete"));
            assertThat(onDisk(root)).containsExactly("epoch=1-step=20.ckpt", "epoch=1-step=30.ckpt");
            assertThat(registry.deletionHold()).get().asString().contains("replaced").contains(db.toString());
            assertThat(registry.held()).as("what ckpt_warden_deletions_held reads").isTrue();

            pass(registry, enforcer, root);

            assertThat(registeredIn(state)).as("the agent registers into the file named registry.db")
                    .containsExactly("epoch=1-step=20.ckpt complete", "epoch=1-step=30.ckpt complete");
            assertThat(log.lines()).filteredOn(l -> l.contains("replaced")).as("one line").hasSize(1);
            assertThat(log.withStackTraces()).isEmpty();
        }
    }

    /**
     * A copy of the registry itself is renamed over registry.db (a backup restored, or the file copied away and
     * back): the same registry, so nothing is held; the agent reopens the file that has the name, deletes as
     * before and writes what it learns there, not into the unlinked file it had open.
     */
    @Test
    void aSqliteRegistryFileReplacedByACopyOfItselfIsReopenedAndDeletionsGoOn() throws Exception {
        Path root = tree.toRealPath();
        ckpt(root, 10);
        ckpt(root, 20);
        Path db = state.resolve(SqliteRegistry.FILE_NAME);
        try (JournaledRegistry registry = JournaledRegistry.open(SqliteRegistry.open(state, clock), state, clock, false);
             AuditLog audit = AuditLog.open(state, clock)) {
            Enforcer enforcer = new Enforcer(registry, audit);
            assertThat(pass(registry, enforcer, root).items()).singleElement()
                    .satisfies(i -> assertThat(i.outcome()).isEqualTo("ok"));

            Path copy = tree.resolveSibling(tree.getFileName() + "-copy.db");
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
                s.execute("VACUUM INTO '" + copy + "'");
            }
            Files.move(copy, db, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            ckpt(root, 30);

            EnforcementReport afterRestore = pass(registry, enforcer, root);

            assertThat(afterRestore.items()).singleElement().satisfies(i -> assertThat(i.outcome()).isEqualTo("ok"));
            assertThat(registry.deletionHold()).isEmpty();
            assertThat(onDisk(root)).containsExactly("epoch=1-step=30.ckpt");
            assertThat(registeredIn(state)).as("what the agent wrote is in the file named registry.db")
                    .containsExactly("epoch=1-step=10.ckpt deleted", "epoch=1-step=20.ckpt deleted",
                            "epoch=1-step=30.ckpt complete");
        }
    }
}
