package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Offload;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.OffloadReceipt;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TinyCheckpoints;
import dev.ckptwarden.watch.Reconciler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #6, "offload never blocks local deletion under disk pressure": an offload root whose target
 * is unreachable shares a filesystem with a delete root; the disk is short of its watermark by
 * exactly the offload root's two least valuable checkpoints.
 */
class OffloadShortfallTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final long GIB = 1L << 30;

    @TempDir
    Path tmp;
    SqliteRegistry registry;
    MutableClock clock;
    AuditLog audit;
    Path archiveDir;
    Path scratchDir;

    @BeforeEach
    void open() throws IOException {
        Path state = Files.createDirectories(tmp.resolve("state"));
        registry = SqliteRegistry.open(state);
        clock = new MutableClock(T0);
        audit = AuditLog.open(state, clock);
        archiveDir = Files.createDirectories(tmp.resolve("archive")).toRealPath();
        scratchDir = Files.createDirectories(tmp.resolve("scratch")).toRealPath();
    }

    @AfterEach
    void close() throws IOException {
        audit.close();
        registry.close();
    }

    /** keep_within keeps the archive's checkpoints in a cheaper pressure tier than the scratch root's keep_last. */
    private RootConfig archive(long minFree) throws IOException {
        return new RootConfig("archive", archiveDir.toString(), Layout.AUTO, List.of(),
                new Retention(1, null, null, Duration.ofDays(100_000)), Quota.NONE, new DiskWatermark(minFree, null),
                Action.OFFLOAD, new Offload("sftp://nobody@127.0.0.1:" + closedPort() + "/archive", "sha256"), List.of());
    }

    private RootConfig scratch(long minFree) {
        return new RootConfig("scratch", scratchDir.toString(), Layout.AUTO, List.of(), new Retention(3, null, null, null),
                Quota.NONE, new DiskWatermark(minFree, null), Action.DELETE, null, List.of());
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private Path ckpt(Path root, String run, int epoch) throws IOException {
        Path f = TinyCheckpoints.torchZip(root.resolve(run + "/epoch=" + epoch + "-step=" + (epoch + 1) * 10 + ".ckpt"),
                epoch, (long) (epoch + 1) * 10, true);
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.from(TinyCheckpoints.LONG_AGO.plusSeconds(epoch)));
        return f;
    }

    private long bytes(Path p) {
        return registry.byPath(p.toString()).orElseThrow().bytes();
    }

    private CheckpointState state(Path p) {
        return registry.byPath(p.toString()).orElseThrow().state();
    }

    private OffloadShortfall.Pass pass(List<RootConfig> roots, long free) throws IOException {
        Config cfg = new Config(null, AgentSettings.defaults(tmp.resolve("state")).withSettleTime(Duration.ofSeconds(10)),
                roots);
        Reconciler reconciler = new Reconciler(registry, clock);
        clock.advance(Duration.ofMinutes(1));
        roots.forEach(r -> reconciler.reconcile(cfg, r));
        EvictionPlan.Space space = new EvictionPlan.Space() {
            @Override
            public long size(FileStore store) {
                return 1024 * GIB;
            }

            @Override
            public long free(FileStore store) {
                return free;
            }
        };
        EvictionPlan plan = EvictionPlan.of(registry, roots, Map.of("archive", archiveDir, "scratch", scratchDir), null,
                clock.instant(), space);
        Enforcer enforcer = new Enforcer(registry, audit, EnforcementListener.NONE,
                RemoteSettings.fromEnvironment(Map.of(), tmp.resolve("home")));
        return OffloadShortfall.enforce(plan, roots, (r, evictions) -> {
            try {
                return enforcer.enforce(r, r.name().equals("archive") ? archiveDir : scratchDir, evictions, false,
                        clock.instant());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Test
    void rootsThatMayDeleteAreEnforcedBeforeOffloadRoots() throws IOException {
        assertThat(OffloadShortfall.deletingFirst(List.of(archive(1), scratch(1))))
                .extracting(RootConfig::name).containsExactly("scratch", "archive");
    }

    @Test
    void whatAFailedOffloadCouldNotFreeIsDeletedFromTheDeleteRootAndNothingUnverifiedGoes() throws IOException {
        Path a0 = ckpt(archiveDir, "a", 0);
        Path a1 = ckpt(archiveDir, "a", 1);
        Path a2 = ckpt(archiveDir, "a", 2);
        Path s0 = ckpt(scratchDir, "s", 0);
        Path s1 = ckpt(scratchDir, "s", 1);
        Path s2 = ckpt(scratchDir, "s", 2);
        Config warm = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(archive(1), scratch(1)));
        new Reconciler(registry, clock).reconcile(warm, warm.roots().get(0));
        new Reconciler(registry, clock).reconcile(warm, warm.roots().get(1));
        long need = bytes(a0) + bytes(a1);
        long free = GIB;

        OffloadShortfall.Pass pass = pass(List.of(archive(free + need), scratch(free + need)), free);

        // The archive's unverified checkpoints stay, with the failure in their history.
        assertThat(List.of(a0, a1, a2)).allSatisfy(p -> assertThat(p).exists());
        assertThat(state(a0)).isEqualTo(CheckpointState.COMPLETE);
        assertThat(registry.history(a0.toString())).extracting(HistoryEvent::event).contains(OffloadReceipt.FAILED_EVENT);
        // The scratch root gave the space instead, least valuable first; its newest stays protected.
        assertThat(s0).doesNotExist();
        assertThat(state(s0)).isEqualTo(CheckpointState.DELETED);
        assertThat(s2).exists();
        long given = pass.reports().stream().filter(r -> r.root().equals("scratch"))
                .flatMap(r -> r.items().stream()).filter(EnforcementReport.Item::removed)
                .peek(i -> assertThat(i.cause()).isEqualTo(EvictionCause.DISK_PRESSURE))
                .mapToLong(EnforcementReport.Item::bytes).sum();
        assertThat(given).isGreaterThanOrEqualTo(need);
        assertThat(pass.unresolved()).as("covered by the delete root").doesNotContainKey("archive");
    }

    @Test
    void whenNothingElseCanGiveTheSpaceThePressureIsUnresolvedAndSaysWhy() throws IOException {
        Path a0 = ckpt(archiveDir, "a", 0);
        Path a1 = ckpt(archiveDir, "a", 1);
        ckpt(archiveDir, "a", 2);
        Path only = ckpt(scratchDir, "s", 0); // newest of its run: protected
        Config warm = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(archive(1), scratch(1)));
        new Reconciler(registry, clock).reconcile(warm, warm.roots().get(0));
        new Reconciler(registry, clock).reconcile(warm, warm.roots().get(1));
        long need = bytes(a0) + bytes(a1);
        long free = GIB;

        OffloadShortfall.Pass pass = pass(List.of(archive(free + need), scratch(free + need)), free);

        assertThat(a0).exists();
        assertThat(a1).exists();
        assertThat(only).exists();
        assertThat(pass.unresolved().get("archive"))
                .startsWith("disk pressure needs space faster than offload frees it: ")
                .contains("failed:offload unreachable \u00d72")
                .endsWith("action: offload deletes nothing that is not verified at the target (action: delete would allow it)");
        assertThat(pass.removedAny()).isFalse();
    }
}
