package dev.ckptwarden.daemon;

import dev.ckptwarden.cli.CliRun;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.offload.FaultyTcpProxy;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Two agents in cluster mode on one tree and one PostgreSQL registry: both register, the lease holder deletes. */
class AgentClusterTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private Config config(Path root, String url, String state) throws Exception {
        return config(root, url, state, "");
    }

    private Config config(Path root, String url, String state, String agentExtra) throws Exception {
        Path file = dir.resolve(state + ".yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve(state) + "\n  reconcile_interval: 1h\n" + agentExtra
                + (agentExtra.contains("settle_time") ? "" : "  settle_time: 10s\n") + "  listen: 127.0.0.1:0\n  registry_url: " + url + "\n  cluster: true\n"
                + "roots:\n  - path: " + root + "\n    retention:\n      keep_last: 2\n");
        return ConfigLoader.load(file, Map.of());
    }

    /** Polls {@code done} until it holds or {@code limit} has passed; returns how long it took, or null. */
    private static Duration within(Duration limit, java.util.function.BooleanSupplier done) throws InterruptedException {
        long start = System.nanoTime();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - start > limit.toNanos()) {
                return null;
            }
            Thread.sleep(10);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** End lines in an agent's audit log so far (0 when it cannot be read yet). */
    private static long endLines(AuditLog audit) {
        try {
            return AuditLog.read(audit.file()).stream().filter(a -> a.phase().equals("end")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    private static String scrape(AgentMetrics metrics) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape("text/plain", out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void bothAgentsRegisterOnlyTheHolderDeletesAndAStoppedHolderHandsOver() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        Path root = Files.createDirectories(dir.resolve("shared")).toRealPath();
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
        }
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        Duration ttl = Duration.ofMinutes(10);
        AgentMetrics metricsA = new AgentMetrics("test");
        AgentMetrics metricsB = new AgentMetrics("test");
        try (PostgresRegistry registryA = PostgresRegistry.open(url, server.env(), clock);
             PostgresRegistry registryB = PostgresRegistry.open(url, server.env(), clock);
             AuditLog auditA = AuditLog.open(dir.resolve("a"));
             AuditLog auditB = AuditLog.open(dir.resolve("b"));
             Agent agentB = new Agent(config(root, url, "b"), null, Map.of(), registryB,
                     new Enforcer(registryB, auditB), metricsB, clock)) {
            Agent agentA = new Agent(config(root, url, "a"), null, Map.of(), registryA, new Enforcer(registryA, auditA),
                    metricsA, clock);
            agentA.coordinateWith(registryA.lease(Lease.ENFORCEMENT, "host-a:1:t0", ttl));
            agentB.coordinateWith(registryB.lease(Lease.ENFORCEMENT, "host-b:2:t0", ttl));
            // Passes and renewals are driven by hand: no scheduler runs, so nothing races the test.
            agentA.renewLease();
            agentB.renewLease();

            agentB.run(PassKind.STARTUP);

            assertThat(registryA.list(root.toString(), "run", false)).as("B registered the tree").hasSize(3);
            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).as("B does not hold the lease").exists();
            assertThat(scrape(metricsB)).contains("ckpt_warden_lease_held 0.0")
                    .as("refusals are not counted as eviction failures")
                    .doesNotContainPattern("ckpt_warden_eviction_failures_total\\{[^}]*\\} [1-9]");

            agentA.run(PassKind.STARTUP);

            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).as("A holds the lease and enforces keep_last 2")
                    .doesNotExist();
            assertThat(scrape(metricsA)).contains("ckpt_warden_lease_held 1.0");

            agentA.close(); // releases the lease: B takes over at its next renewal, not after the lease time
            // As if A had crashed mid-eviction: a checkpoint whole in the trash with its manifest line.
            Path trash = root.resolve(".ckpt-warden-trash");
            Path stray = TreeBuilder.lightningCkpt(root.resolve("run/epoch=0-step=5.ckpt"), 0, 5L, true, T0);
            agentB.run(PassKind.PERIODIC); // registered; B does not hold the lease yet
            String id = "1767225600000-999-1";
            String manifest = "{\"version\":1,\"id\":\"" + id + "\",\"root\":\""
                    + root + "\",\"run\":\"run\",\"path\":\"" + stray + "\",\"parent\":\"run\",\"members\":[{\"name\":\""
                    + stray.getFileName() + "\",\"type\":\"file\",\"bytes\":" + Files.size(stray) + ",\"modified_ms\":"
                    + Files.getLastModifiedTime(stray).toMillis() + "}],\"bytes\":" + Files.size(stray)
                    + ",\"reason\":\"policy\",\"action\":\"delete\",\"started\":\"" + T0 + "\"}";
            // Signed as A's enforcer signs: with the key the agents share through the registry, not A's state_dir.
            String signature = dev.ckptwarden.enforce.ManifestKey.forRegistry(registryA, dir.resolve("a")).sign(manifest);
            Files.writeString(trash.resolve(id + ".manifest.json"), signature + " " + manifest + "\n");
            Files.move(stray, trash.resolve(id + ".0"));
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=4-step=40.ckpt"), 4, 40L, true, T0);
            agentB.renewLease();
            agentB.run(PassKind.PERIODIC);

            assertThat(trash.resolve(id + ".0")).as("B finished A's interrupted eviction on taking over").doesNotExist();
            assertThat(trash.resolve(id + ".manifest.json")).doesNotExist();
            assertThat(registryB.byPath(stray.toString()).orElseThrow().state())
                    .isEqualTo(dev.ckptwarden.catalog.CheckpointState.DELETED);
            assertThat(AuditLog.read(auditB.file())).anySatisfy(a -> {
                assertThat(a.eviction()).isEqualTo(id);
                assertThat(a.phase()).isEqualTo("end");
            });
            assertThat(root.resolve("run/epoch=2-step=20.ckpt")).as("B deletes now").doesNotExist();
            assertThat(root.resolve("run/epoch=4-step=40.ckpt")).exists();
            assertThat(scrape(metricsB)).contains("ckpt_warden_lease_held 1.0");
        } finally {
            metricsA.close();
            metricsB.close();
        }
    }

    @Test
    void anAgentTakingOverTheLeaseDeletesAtOnceNotAtItsNextPeriodicPass() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        Path root = Files.createDirectories(dir.resolve("shared")).toRealPath();
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
        }
        Config configB = config(root, url, "b", "  lease_time: 2s\n  lease_renewal: 500ms\n");
        Duration ttl = configB.agent().leaseTime();
        Duration renewal = configB.agent().leaseRenewal();
        AgentMetrics metricsB = new AgentMetrics("test");
        try (PostgresRegistry registryA = PostgresRegistry.open(url, server.env(), java.time.Clock.systemUTC());
             PostgresRegistry registryB = PostgresRegistry.open(url, server.env(), java.time.Clock.systemUTC());
             AuditLog auditB = AuditLog.open(dir.resolve("b"));
             Agent agentB = new Agent(configB, null, Map.of(), registryB,
                     new Enforcer(registryB, auditB), metricsB, java.time.Clock.systemUTC())) {
            // A holds the lease (and would delete); B runs for real: scheduler, renewals, 1 h between periodic passes.
            Lease holderA = registryA.lease(Lease.ENFORCEMENT, "host-a:1:t0", ttl);
            assertThat(holderA.acquire()).isTrue();
            agentB.coordinateWith(registryB.lease(Lease.ENFORCEMENT, "host-b:2:t0", ttl));
            agentB.start();
            Path oldest = root.resolve("run/epoch=1-step=10.ckpt");
            assertThat(oldest).as("B does not hold the lease").exists();

            holderA.release(); // A stops (or loses the database for good): the lease is free at once
            Duration takeover = within(Duration.ofSeconds(10), () -> !Files.exists(oldest));

            System.out.println("takeover after release, lease " + ttl + " renewal " + renewal + ": " + takeover);
            assertThat(takeover).as("B deleted after taking over, without waiting for its periodic reconcile (1 h)")
                    .isNotNull();
            assertThat(takeover).as("within one renewal interval and a pass").isLessThan(renewal.plusSeconds(2));
            assertThat(root.resolve("run/epoch=2-step=20.ckpt")).exists();
        } finally {
            metricsB.close();
        }
    }

    /**
     * The agent takes the lease over while the previous holder's last pass still holds the root's trash: its
     * takeover pass can neither finish what is left in the trash nor delete. It asks its schedule for the
     * takeover pass again a moment later, and that one does both, instead of waiting for the next periodic
     * pass (an hour here) with the trash unfinished until then. The passes run on the injected clock.
     */
    @Test
    void aTakeoverThatFindsTheTrashBusyRunsAgainSoonNotAtTheNextPeriodicPass() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        Path root = Files.createDirectories(dir.resolve("shared")).toRealPath();
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
        }
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        Duration ttl = Duration.ofMinutes(10);
        AgentScheduleTest.RecordingSchedule schedule = new AgentScheduleTest.RecordingSchedule();
        AgentMetrics metricsB = new AgentMetrics("test");
        try (PostgresRegistry registryA = PostgresRegistry.open(url, server.env(), clock);
             PostgresRegistry registryB = PostgresRegistry.open(url, server.env(), clock);
             AuditLog auditB = AuditLog.open(dir.resolve("b"));
             Agent agentB = new Agent(config(root, url, "b"), null, Map.of(), registryB, new Enforcer(registryB, auditB),
                     metricsB, clock, passes -> schedule)) {
            Lease holderA = registryA.lease(Lease.ENFORCEMENT, "host-a:1:t0", ttl);
            assertThat(holderA.acquire()).isTrue();
            agentB.coordinateWith(registryB.lease(Lease.ENFORCEMENT, "host-b:2:t0", ttl));
            agentB.start();
            Path oldest = root.resolve("run/epoch=1-step=10.ckpt");
            holderA.release();
            try (dev.ckptwarden.enforce.TrashBin aStillEnforcing = dev.ckptwarden.enforce.TrashBin.open(root, null)) {
                agentB.renewLease();
                assertThat(takeovers(schedule)).as("taken over: a takeover pass at once").containsExactly(clock.instant());

                agentB.run(PassKind.TAKEOVER);

                assertThat(oldest).as("the trash was busy").exists();
                Instant taken = clock.instant();
                assertThat(takeovers(schedule)).as("asked again, soon")
                        .containsExactly(taken, taken.plus(Agent.TRASH_BUSY_RETRY));
                clock.advance(Agent.TRASH_BUSY_RETRY);

                agentB.run(PassKind.TAKEOVER);

                assertThat(takeovers(schedule)).as("a holder that does not let go is asked less and less often")
                        .containsExactly(taken, taken.plus(Agent.TRASH_BUSY_RETRY),
                                clock.instant().plus(Agent.TRASH_BUSY_RETRY.multipliedBy(2)));
            }
            clock.advance(Agent.TRASH_BUSY_RETRY.multipliedBy(2));

            agentB.run(PassKind.TAKEOVER);

            assertThat(oldest).as("the retried takeover pass deleted").doesNotExist();
            assertThat(root.resolve("run/epoch=2-step=20.ckpt")).exists();
            assertThat(takeovers(schedule)).as("nothing more to retry").hasSize(3);
        } finally {
            metricsB.close();
        }
    }

    /** When the takeover passes asked of {@code schedule} are to run (the watcher asks for event passes besides). */
    private static java.util.List<Instant> takeovers(AgentScheduleTest.RecordingSchedule schedule) {
        java.util.List<Instant> at = new java.util.ArrayList<>();
        for (int i = 0; i < schedule.kinds.size(); i++) {
            if (schedule.kinds.get(i) == PassKind.TAKEOVER) {
                at.add(schedule.times.get(i));
            }
        }
        return at;
    }

    @Test
    void aHolderCutOffFromTheDatabaseStopsDeletingAndTheOtherTakesOverAfterTheLeaseTime() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        Path root = Files.createDirectories(dir.resolve("shared")).toRealPath();
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
        }
        // Saves settle at once here: the time measured is the lease's, not the settle time's.
        String lease = "  lease_time: 2s\n  lease_renewal: 500ms\n  settle_time: 100ms\n";
        java.time.Clock clock = java.time.Clock.systemUTC();
        AgentMetrics metricsA = new AgentMetrics("test");
        AgentMetrics metricsB = new AgentMetrics("test");
        try (FaultyTcpProxy network = new FaultyTcpProxy(server.port())) {
            // A reaches PostgreSQL only through the proxy; B directly.
            String urlA = url.replace(":" + server.port() + "/", ":" + network.port() + "/");
            Config configA = config(root, urlA, "a", lease);
            Config configB = config(root, url, "b", lease);
            Duration ttl = configA.agent().leaseTime();
            try (PostgresRegistry registryA = PostgresRegistry.open(urlA, server.env(), clock);
                 PostgresRegistry registryB = PostgresRegistry.open(url, server.env(), clock);
                 AuditLog auditA = AuditLog.open(dir.resolve("a"));
                 AuditLog auditB = AuditLog.open(dir.resolve("b"));
                 Agent agentA = new Agent(configA, null, Map.of(), registryA, new Enforcer(registryA, auditA), metricsA,
                         clock);
                 Agent agentB = new Agent(configB, null, Map.of(), registryB, new Enforcer(registryB, auditB), metricsB,
                         clock)) {
                agentA.coordinateWith(registryA.lease(Lease.ENFORCEMENT, "host-a:1:t0", ttl));
                agentB.coordinateWith(registryB.lease(Lease.ENFORCEMENT, "host-b:2:t0", ttl));
                agentA.start();
                agentB.start();
                assertThat(root.resolve("run/epoch=1-step=10.ckpt")).as("A holds the lease and deletes").doesNotExist();

                network.cut(); // A holds the lease and loses the database; B still reaches it
                Instant cut = clock.instant();
                Lease.Holding lost = registryB.lease(Lease.ENFORCEMENT, "observer", ttl).current().orElseThrow();
                assertThat(lost.holder()).isEqualTo("host-a:1:t0");
                for (int s = 4; s <= 5; s++) { // both agents see these saves (watch events) and want 2 and 3 gone
                    TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L,
                            true, T0);
                }
                Path second = root.resolve("run/epoch=2-step=20.ckpt");
                // Done when B's end lines are written: the files leave at the rename, before the batch's end lines.
                Duration takeover = within(Duration.ofSeconds(15), () -> !Files.exists(second)
                        && !Files.exists(root.resolve("run/epoch=3-step=30.ckpt")) && endLines(auditB) >= 2);

                System.out.println("takeover after a partition, lease " + ttl + " renewal "
                        + configB.agent().leaseRenewal() + ": " + takeover);
                assertThat(takeover).as("B took over and enforced within the lease time and a renewal")
                        .isNotNull().isLessThan(ttl.plus(configB.agent().leaseRenewal()).plusSeconds(2));
                assertThat(AuditLog.read(auditA.file())).as("A evicted nothing once cut off")
                        .allSatisfy(a -> assertThat(a.time()).isBefore(cut));
                assertThat(AuditLog.read(auditB.file())).as("B began only once A's lease had run out (database time)")
                        .isNotEmpty().allSatisfy(a -> assertThat(a.time()).isAfterOrEqualTo(lost.expiresAt()));
                java.util.List<String> ends = new java.util.ArrayList<>();
                for (AuditLog log : java.util.List.of(auditA, auditB)) {
                    AuditLog.read(log.file()).stream().filter(a -> a.phase().equals("end")).forEach(a -> ends.add(a.path()));
                }
                assertThat(ends).as("each checkpoint evicted once").doesNotHaveDuplicates()
                        .containsExactlyInAnyOrder(root.resolve("run/epoch=1-step=10.ckpt").toString(), second.toString(),
                                root.resolve("run/epoch=3-step=30.ckpt").toString());
                // The purge follows the end lines (on other threads since batches overlap their purges): wait for it.
                assertThat(within(Duration.ofSeconds(15), () -> trashHolds(root) == 0)).as("nothing left in the trash")
                        .isNotNull();
                assertThat(root.resolve("run/epoch=4-step=40.ckpt")).exists();
                assertThat(root.resolve("run/epoch=5-step=50.ckpt")).exists();
            }
        } finally {
            metricsA.close();
            metricsB.close();
        }
    }

    /**
     * Issue 18: two agents on two hosts (host names in their holder ids) watch one shared tree; each host's
     * training job writes its own run. What an agent says about the run the other host wrote: {@code ls} on
     * either host lists it as soon as the other host's agent registered it (one registry); an agent's metrics
     * count only what its own passes saw, so the other host's run appears there at its next full reconcile
     * (the shared file system raises no watch event for a remote write); evictions are counted by the agent
     * that made them (the holder), whichever host wrote the checkpoint.
     */
    @Test
    void lsOnEitherHostListsTheOtherHostsCheckpointsAndMetricsCountThemAfterTheAgentsOwnPass() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        System.setProperty("org.postgresql.pgpassfile", server.passwordFile(dir).toString());
        Path root = Files.createDirectories(dir.resolve("shared")).toRealPath();
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        Duration ttl = Duration.ofMinutes(10);
        AgentMetrics metricsA = new AgentMetrics("test");
        AgentMetrics metricsB = new AgentMetrics("test");
        Config configA = config(root, url, "a");
        Config configB = config(root, url, "b");
        try (PostgresRegistry registryA = PostgresRegistry.open(url, server.env(), clock);
             PostgresRegistry registryB = PostgresRegistry.open(url, server.env(), clock);
             AuditLog auditA = AuditLog.open(dir.resolve("a"));
             AuditLog auditB = AuditLog.open(dir.resolve("b"));
             Agent agentA = new Agent(configA, null, Map.of(), registryA, new Enforcer(registryA, auditA), metricsA, clock);
             Agent agentB = new Agent(configB, null, Map.of(), registryB, new Enforcer(registryB, auditB), metricsB, clock)) {
            agentA.coordinateWith(registryA.lease(Lease.ENFORCEMENT, "gpu-node-a:1:t0", ttl));
            agentB.coordinateWith(registryB.lease(Lease.ENFORCEMENT, "gpu-node-b:2:t0", ttl));
            agentA.renewLease();
            agentB.renewLease();
            // Host B's job wrote three saves of run-b; B's agent saw them (its own watch event, its pass).
            for (int s = 1; s <= 3; s++) {
                TreeBuilder.lightningCkpt(root.resolve("run-b/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
            }
            agentB.run(PassKind.STARTUP);
            agentA.run(PassKind.STARTUP);
            // Host A's job then writes run-a; only A's agent passes.
            TreeBuilder.lightningCkpt(root.resolve("run-a/epoch=1-step=100.ckpt"), 1, 100L, true, T0);
            agentA.run(PassKind.PERIODIC);

            String lsOnB = CliRun.withConfig(dir.resolve("b.yaml"), "ls", "--json").out();
            String lsOnA = CliRun.withConfig(dir.resolve("a.yaml"), "ls", "--json").out();

            assertThat(lsOnB).as("ls on host B: A's save, from the shared registry")
                    .contains(root.resolve("run-a/epoch=1-step=100.ckpt").toString());
            assertThat(lsOnA).as("ls on host A: B's saves that retention kept (keep_last 2, A holds the lease)")
                    .contains(root.resolve("run-b/epoch=3-step=30.ckpt").toString())
                    .doesNotContain(root.resolve("run-b/epoch=1-step=10.ckpt").toString());
            String runA = "ckpt_warden_run_latest_step\\{[^}]*run=\"run-a\"[^}]*\\} 100\\.0";
            assertThat(scrape(metricsA)).containsPattern(runA)
                    .as("the holder counts the eviction of B's save")
                    .containsPattern("ckpt_warden_evictions_total\\{[^}]*\\} 1\\.0");
            assertThat(scrape(metricsB)).as("B's metrics: not before B's own next full pass").doesNotContainPattern(runA)
                    .doesNotContainPattern("ckpt_warden_evictions_total\\{[^}]*\\} [1-9]");

            agentB.run(PassKind.PERIODIC);

            assertThat(scrape(metricsB)).containsPattern(runA)
                    .containsPattern("ckpt_warden_checkpoints\\{[^}]*run=\"run-b\"[^}]*state=\"complete\"[^}]*\\} 2\\.0");
        } finally {
            System.clearProperty("org.postgresql.pgpassfile");
            metricsA.close();
            metricsB.close();
        }
    }

    /** Entries in the root's trash besides its lock file. */
    private static long trashHolds(Path root) {
        try (java.util.stream.Stream<Path> left = Files.list(root.resolve(".ckpt-warden-trash"))) {
            return left.filter(p -> !p.getFileName().toString().equals(".lock")).count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

}
