package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import dev.ckptwarden.watch.Reconciler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Cluster mode end to end: two agents (each its own registry connection pool, audit log and enforcer)
 * on one shared checkpoint tree and one PostgreSQL registry. Both scan and register; only the holder
 * of the enforcement lease deletes, and a holder that was overtaken is refused by its guard.
 */
class ClusterEnforcementTest {

    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final Duration TTL = Duration.ofMinutes(10);

    @TempDir
    Path tree;
    @TempDir
    Path stateA;
    @TempDir
    Path stateB;

    private final PostgresServer server = PostgresServer.shared();
    private final MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
    private String url;
    private Agentish a;
    private Agentish b;
    private Path root;

    /** The parts of an agent that take part in enforcement. */
    private final class Agentish implements AutoCloseable {
        final PostgresRegistry registry;
        final AuditLog audit;
        final Enforcer enforcer;
        final Lease lease;
        final Config config;
        final RootConfig rootConfig;

        Agentish(String holder, Path state) throws IOException {
            registry = PostgresRegistry.open(url, server.env(), clock);
            audit = AuditLog.open(state, clock);
            enforcer = new Enforcer(registry, audit);
            lease = registry.lease(Lease.ENFORCEMENT, holder, TTL);
            enforcer.guardWith(lease::checkHeld);
            rootConfig = new RootConfig("shared", root.toString(), Layout.AUTO, List.of(), new Retention(1, null, null, null),
                    Quota.NONE, DiskWatermark.NONE, Action.DELETE, null, List.of());
            config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)),
                    List.of(rootConfig));
        }

        /** One agent pass: register what is on disk, plan from the shared registry, enforce. */
        EnforcementReport pass() throws IOException {
            new Reconciler(registry, clock).reconcile(config, rootConfig);
            EvictionPlan plan = EvictionPlan.of(registry, List.of(rootConfig), Map.of("shared", root), null,
                    clock.instant());
            return enforcer.enforce(rootConfig, root, plan.evictions("shared"), false, clock.instant());
        }

        List<AuditRecord> auditLines(Path state) throws IOException {
            return AuditLog.read(state.resolve(AuditLog.FILE_NAME));
        }

        @Override
        public void close() throws IOException {
            audit.close();
            registry.close();
        }
    }

    @BeforeEach
    void open() throws IOException {
        root = tree.toRealPath();
        url = server.freshDatabase();
        a = new Agentish("host-a:101:t0", stateA);
        b = new Agentish("host-b:202:t0", stateB);
    }

    @AfterEach
    void close() throws IOException {
        a.close();
        b.close();
    }

    private Path ckpt(long step) throws IOException {
        Path p = root.resolve("run/epoch=1-step=" + step + ".ckpt");
        Files.createDirectories(p.getParent());
        return TreeBuilder.lightningCkpt(p, 1, step, true, T0.plusSeconds(step));
    }

    private List<String> onDisk() throws IOException {
        try (Stream<Path> files = Files.list(root.resolve("run"))) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private void expireLease() {
        server.execute(url, "UPDATE leases SET expires_at = now() - INTERVAL '1 second'");
    }

    @Test
    void onlyTheLeaseHolderDeletesAndAnOvertakenHolderIsRefused() throws IOException {
        Path s10 = ckpt(10);
        Path s20 = ckpt(20);
        ckpt(30);
        assertThat(a.lease.acquire()).isTrue();
        assertThat(b.lease.acquire()).isFalse();

        EnforcementReport byB = b.pass();

        assertThat(byB.items()).hasSize(2).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("failed:not allowed to delete"));
        assertThat(onDisk()).containsExactly("epoch=1-step=10.ckpt", "epoch=1-step=20.ckpt", "epoch=1-step=30.ckpt");
        assertThat(b.auditLines(stateB)).isEmpty();

        EnforcementReport byA = a.pass();

        assertThat(byA.items()).hasSize(2).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(onDisk()).containsExactly("epoch=1-step=30.ckpt");
        assertThat(b.registry.byPath(s10.toString()).orElseThrow().state())
                .as("the other agent sees the deletion in the shared registry").isEqualTo(CheckpointState.DELETED);
        assertThat(b.registry.byPath(s20.toString()).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);

        // A stops renewing (paused); B takes over; A wakes up believing it still holds the lease.
        ckpt(40);
        ckpt(50);
        expireLease();
        assertThat(b.lease.acquire()).isTrue();
        assertThat(a.lease.held()).isTrue();

        EnforcementReport staleA = a.pass();

        assertThat(staleA.items()).hasSize(2).allSatisfy(i -> {
            assertThat(i.outcome()).isEqualTo("failed:not allowed to delete");
            assertThat(i.detail()).contains("taken over by host-b:202:t0 (token 2)");
        });
        assertThat(onDisk()).containsExactly("epoch=1-step=30.ckpt", "epoch=1-step=40.ckpt", "epoch=1-step=50.ckpt");

        EnforcementReport newHolder = b.pass();

        assertThat(newHolder.items()).hasSize(2).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(onDisk()).containsExactly("epoch=1-step=50.ckpt");
        assertThat(a.auditLines(stateA)).extracting(AuditRecord::path).doesNotContain(
                root.resolve("run/epoch=1-step=30.ckpt").toString(), root.resolve("run/epoch=1-step=40.ckpt").toString());
        assertThat(b.auditLines(stateB)).extracting(AuditRecord::path).contains(
                root.resolve("run/epoch=1-step=30.ckpt").toString(), root.resolve("run/epoch=1-step=40.ckpt").toString());
    }

    @Test
    void aHolderThatCannotReachTheRegistryDeletesNothing() throws Exception {
        ckpt(10);
        ckpt(20);
        assertThat(a.lease.acquire()).isTrue();
        new Reconciler(a.registry, clock).reconcile(a.config, a.rootConfig);
        EvictionPlan plan = EvictionPlan.of(a.registry, List.of(a.rootConfig), Map.of("shared", root), null,
                clock.instant());
        a.registry.close(); // the registry is gone between planning and deleting

        EnforcementReport r = a.enforcer.enforce(a.rootConfig, root, plan.evictions("shared"), false, clock.instant());

        assertThat(r.items()).singleElement().satisfies(i -> {
            assertThat(i.outcome()).isEqualTo("failed:not allowed to delete");
            assertThat(i.detail()).startsWith("lease enforcement cannot be checked");
        });
        assertThat(onDisk()).containsExactly("epoch=1-step=10.ckpt", "epoch=1-step=20.ckpt");
    }
}
