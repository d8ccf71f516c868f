package dev.ckptwarden.daemon;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.registry.JournaledRegistry;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import dev.ckptwarden.watch.Reconciler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14 in the agent: a pass after {@code registry.db} was lost keeps what the user pinned, and an
 * empty registry beside history it cannot rebuild from deletes nothing. Wired as {@code run} wires it.
 */
class AgentRegistryLossTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private Path root;
    private Path state;
    private Config cfg;
    private Path file;
    private final List<Path> saves = new ArrayList<>();
    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));

    @BeforeEach
    void tree() throws Exception {
        root = Files.createDirectories(dir.resolve("data")).toRealPath();
        state = dir.resolve("state");
        for (int s = 1; s <= 3; s++) {
            saves.add(TreeBuilder.lightningCkpt(root.resolve("a/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true,
                    T0.plusSeconds(s)));
        }
        file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, "agent:\n  state_dir: " + state + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 10s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root
                + "\n    retention:\n      keep_last: 1\n    action: delete\n");
        cfg = ConfigLoader.load(file, Map.of());
    }

    private JournaledRegistry openRegistry() {
        return JournaledRegistry.open(SqliteRegistry.open(state, clock), state, clock, false);
    }

    /** One startup pass of an agent, as {@code ckpt-warden run} starts it. */
    private void agentStartupPass() throws Exception {
        try (JournaledRegistry registry = openRegistry();
             AuditLog audit = AuditLog.open(state);
             Agent agent = new Agent(cfg, file, Map.of(), registry, new Enforcer(registry, audit),
                     new AgentMetrics("test"), clock)) {
            agent.run(PassKind.STARTUP);
        }
    }

    private static void deleteDatabase(Path state) throws IOException {
        for (String suffix : List.of("", "-wal", "-shm")) {
            Files.deleteIfExists(state.resolve(SqliteRegistry.FILE_NAME + suffix));
        }
    }

    @Test
    void agentPassAfterRegistryWasDeletedKeepsThePinnedCheckpoint() throws Exception {
        try (JournaledRegistry registry = openRegistry()) {
            new Reconciler(registry, clock).reconcile(cfg, cfg.roots().get(0));
            assertThat(registry.pin(saves.get(0).toString(), true, "paper")).isTrue();
        }
        deleteDatabase(state);

        agentStartupPass();

        assertThat(saves.get(0)).as("pinned").exists();
        assertThat(saves.get(1)).as("evicted by keep_last 1").doesNotExist();
        assertThat(saves.get(2)).as("newest").exists();
        try (JournaledRegistry registry = openRegistry()) {
            assertThat(registry.byPath(saves.get(0).toString()).orElseThrow().pinned()).isTrue();
        }
    }

    @Test
    void agentWithEmptyRegistryBesideAuditHistoryAndNoPinJournalDeletesNothing() throws Exception {
        Files.createDirectories(state);
        Files.writeString(state.resolve(AuditLog.FILE_NAME), "{\"phase\":\"begin\"}\n");

        agentStartupPass();
        agentStartupPass();

        assertThat(saves).allSatisfy(p -> assertThat(p).exists());
    }
}
