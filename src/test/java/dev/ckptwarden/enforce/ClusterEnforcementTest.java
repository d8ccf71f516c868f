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
    @TempDir
    Path stateC;

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
        /** What the test does as the pass goes (a pause between batches, a database restart mid-batch). */
        volatile EnforcementListener hear = EnforcementListener.NONE;

        Agentish(String holder, Path state) throws IOException {
            this(url, holder, state);
        }

        Agentish(String url, String holder, Path state) throws IOException {
            registry = PostgresRegistry.open(url, server.env(), clock);
            audit = AuditLog.open(state, clock);
            enforcer = new Enforcer(registry, audit, new EnforcementListener() {
                @Override
                public void renamed(Path checkpoint, String member) {
                    hear.renamed(checkpoint, member);
                }

                @Override
                public void finished(EnforcementReport.Item item) {
                    hear.finished(item);
                }

                @Override
                public void reached(BatchPoint point, int evictions) {
                    hear.reached(point, evictions);
                }
            });
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

    /** {@code n} checkpoints of one run, steps 1..n: with keep_last 1, one full batch of evictions and then some. */
    private void manyCheckpoints(int n) throws IOException {
        Path first = ckpt(1);
        for (int step = 2; step <= n; step++) {
            // Copies of one small checkpoint, each named for its step: writing a thousand zips costs seconds.
            Path p = Files.copy(first, root.resolve("run/epoch=1-step=" + step + ".ckpt"));
            TreeBuilder.touch(p, T0.plusSeconds(step));
        }
    }

    /** What is left in the root's trash besides its lock file. */
    private List<String> inTrash() throws IOException {
        Path trash = root.resolve(TrashBin.DIR_NAME);
        if (!Files.exists(trash)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(trash)) {
            return entries.map(f -> f.getFileName().toString()).filter(f -> !f.equals(TrashBin.LOCK_NAME)).toList();
        }
    }

    /** Every begin has one end; returns the paths whose end says ok, once each (a duplicate fails). */
    private static List<String> evictedOnce(List<AuditRecord> lines) {
        Map<String, Long> begins = lines.stream().filter(l -> l.phase().equals(AuditRecord.BEGIN))
                .collect(java.util.stream.Collectors.groupingBy(AuditRecord::eviction, java.util.stream.Collectors.counting()));
        Map<String, Long> ends = lines.stream().filter(l -> l.phase().equals(AuditRecord.END))
                .collect(java.util.stream.Collectors.groupingBy(AuditRecord::eviction, java.util.stream.Collectors.counting()));
        assertThat(ends).as("one end line for each begin line").isEqualTo(begins);
        List<String> ok = lines.stream().filter(l -> l.phase().equals(AuditRecord.END) && "ok".equals(l.outcome()))
                .map(AuditRecord::path).toList();
        assertThat(ok).as("no checkpoint evicted twice").doesNotHaveDuplicates();
        return ok;
    }

    /**
     * Issue 18: the holder stops (SIGSTOP, a long GC pause, a frozen VM) right after its first batch of a large
     * enforcement, past its lease; the other agent takes the lease over. Resumed, the paused holder's next batch
     * asks its fencing token and deletes nothing more. Meanwhile the paused holder still holds the root's trash
     * lock, so the new holder works on that root once the old one has let go of it.
     */
    @Test
    void aHolderPausedPastItsLeaseBetweenTwoBatchesDeletesNothingMoreOnceResumed() throws IOException {
        int n = Enforcer.BATCH + 40;
        manyCheckpoints(n);
        assertThat(a.lease.acquire()).isTrue();
        java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();
        List<String> duringPause = new java.util.ArrayList<>();
        a.hear = new EnforcementListener() {
            @Override
            public void reached(BatchPoint point, int evictions) {
                // Between the batches: the second is about to ask its fencing token (the first one's items may
                // still be reported after it, once that batch's purge on other threads ends).
                if (point == BatchPoint.STARTING && batches.incrementAndGet() == 2) {
                    // A is paused here, between its batches, until its lease has run out and B has taken it.
                    expireLease();
                    assertThat(b.lease.acquire()).isTrue();
                    try {
                        b.pass();
                        duringPause.add("B enforced the root A holds");
                    } catch (EnforcementBusyException busy) {
                        duringPause.add("busy");
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }
        };

        EnforcementReport byA = a.pass();

        assertThat(duringPause).containsExactly("busy");
        assertThat(byA.items()).hasSize(n - 1);
        assertThat(byA.items().subList(0, Enforcer.BATCH)).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(byA.items().subList(Enforcer.BATCH, n - 1)).as("after the pause").allSatisfy(i -> {
            assertThat(i.outcome()).isEqualTo("failed:not allowed to delete");
            assertThat(i.detail()).contains("taken over by host-b:202:t0");
        });
        assertThat(evictedOnce(a.auditLines(stateA))).hasSize(Enforcer.BATCH);

        EnforcementReport byB = b.pass();

        assertThat(byB.items()).hasSize(n - 1 - Enforcer.BATCH).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        List<String> evicted = new java.util.ArrayList<>(evictedOnce(a.auditLines(stateA)));
        evicted.addAll(evictedOnce(b.auditLines(stateB)));
        assertThat(evicted).as("each checkpoint evicted once, by one agent").doesNotHaveDuplicates().hasSize(n - 1);
        assertThat(onDisk()).containsExactly("epoch=1-step=" + n + ".ckpt");
        assertThat(inTrash()).isEmpty();
    }

    /**
     * Issue 18: PostgreSQL stops in the middle of a large enforcement (after the second batch passed its fencing
     * check, while it renames) and starts again before the batch ends. No checkpoint is evicted twice, none is
     * left in a trash, every audit begin has its end, and once the registry answers the next pass records what
     * the interrupted batch removed.
     */
    @Test
    void theDatabaseRestartingInTheMiddleOfABatchEvictsNothingTwiceAndLeavesNothingInTheTrash() throws Exception {
        try (PostgresServer own = PostgresServer.dedicated()) {
            String ownUrl = own.freshDatabase();
            int n = Enforcer.BATCH + 60;
            manyCheckpoints(n);
            try (Agentish holder = new Agentish(ownUrl, "host-c:505:t0", stateC)) {
                assertThat(holder.lease.acquire()).isTrue();
                java.util.concurrent.atomic.AtomicInteger renamed = new java.util.concurrent.atomic.AtomicInteger();
                holder.hear = new EnforcementListener() {
                    @Override
                    public void renamed(Path checkpoint, String member) {
                        try {
                            int r = renamed.incrementAndGet();
                            if (r == Enforcer.BATCH + 10) {
                                own.pause();
                            } else if (r == Enforcer.BATCH + 40) {
                                own.resume();
                            }
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IllegalStateException(e);
                        }
                    }
                };

                EnforcementReport interrupted = holder.pass();
                holder.hear = EnforcementListener.NONE;

                assertThat(interrupted.items()).hasSize(n - 1);
                List<String> first = evictedOnce(holder.auditLines(stateC));
                assertThat(inTrash()).isEmpty();

                EnforcementReport after = holder.pass();

                List<String> all = evictedOnce(holder.auditLines(stateC));
                assertThat(all).as("each checkpoint evicted once").hasSize(n - 1).containsAll(first);
                assertThat(after.items()).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
                assertThat(onDisk()).containsExactly("epoch=1-step=" + n + ".ckpt");
                assertThat(inTrash()).isEmpty();
                assertThat(holder.registry.list("shared", null, true)).filteredOn(c -> c.state().present())
                        .extracting(c -> c.path().getFileName().toString())
                        .as("the registry knows what the interrupted batch removed").containsExactly("epoch=1-step=" + n + ".ckpt");
            }
        }
    }

    /**
     * The registry's connections break (the database restarted, a proxy or firewall dropped them) after a batch
     * has moved its checkpoints and just before the registry is told. The write is made again on a fresh
     * connection, so the registry records each of them as the eviction did (deleted, for its reason), not as a
     * checkpoint that vanished from disk, which is all the next pass could say of it.
     */
    @Test
    void aBatchWhoseRegistryConnectionBreaksRecordsItsEvictionsWithTheirReason() throws Exception {
        Path s10 = ckpt(10);
        Path s20 = ckpt(20);
        ckpt(30);
        assertThat(a.lease.acquire()).isTrue();
        java.util.concurrent.atomic.AtomicInteger renamed = new java.util.concurrent.atomic.AtomicInteger();
        a.hear = new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                if (renamed.incrementAndGet() == 2) { // the batch's last move: the registry write comes next
                    server.execute(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            + " WHERE datname = current_database() AND pid <> pg_backend_pid()");
                }
            }
        };

        EnforcementReport interrupted = a.pass();

        assertThat(interrupted.items()).hasSize(2).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(interrupted.problems()).as("the registry was told").isEmpty();
        a.pass(); // what the next pass says of them changes nothing
        for (Path evicted : List.of(s10, s20)) {
            assertThat(a.registry.byPath(evicted.toString()).orElseThrow()).satisfies(c -> {
                assertThat(c.state()).isEqualTo(CheckpointState.DELETED);
                assertThat(c.note()).isEqualTo("policy");
            });
            assertThat(a.registry.history(evicted.toString())).last().satisfies(h -> {
                assertThat(h.event()).isEqualTo(CheckpointState.DELETED.id());
                assertThat(h.detail()).isEqualTo("policy");
            });
        }
    }
}
