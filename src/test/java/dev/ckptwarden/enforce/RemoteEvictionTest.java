package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.cli.SampleFiles;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.S3TestServer;
import dev.ckptwarden.offload.SftpTestServer;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.util.ForwardingBlobStore;
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
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Retention on remote roots (issue #6) goes through the Enforcer's single audited path: keep_last
 * removes the oldest from an SFTP root (renamed into the remote trash, then deleted) and from an S3 root
 * (objects deleted, marker first), leaves the rest, and never touches a path outside the root.
 */
class RemoteEvictionTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final Retention KEEP_LAST_2 = new Retention(2, null, null, null);

    @TempDir
    Path tmp;

    private SqliteRegistry registry;
    private MutableClock clock;
    private AuditLog audit;

    @BeforeEach
    void open() throws IOException {
        Path state = Files.createDirectories(tmp.resolve("state"));
        registry = SqliteRegistry.open(state);
        // S3 stamps objects with the server's time: settle against the real clock, an hour on.
        clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
        audit = AuditLog.open(state, clock);
    }

    @AfterEach
    void close() throws IOException {
        audit.close();
        registry.close();
    }

    /** Lightning saves at epochs 1..4 and HF checkpoint-100..300, all resumable and settled. */
    static Path tree(Path root) throws IOException {
        for (int epoch = 1; epoch <= 4; epoch++) {
            TreeBuilder.lightningCkpt(root.resolve("lit/epoch=" + epoch + "-step=" + epoch * 10 + ".ckpt"), epoch, epoch * 10L,
                    true, T0.plusSeconds(60L * epoch));
        }
        for (int step = 100; step <= 300; step += 100) {
            TreeBuilder.hfCheckpoint(root.resolve("hf"), step, true, true, T0.plusSeconds(step));
        }
        return root;
    }

    static RootConfig root(String uri, Action action) {
        return new RootConfig(uri, uri, Layout.AUTO, List.of(), KEEP_LAST_2, Quota.NONE, DiskWatermark.NONE, action, null,
                List.of());
    }

    /** Reconcile, plan and enforce one remote root as the agent does; returns the report. */
    private EnforcementReport pass(RootConfig root, RemoteSettings settings) throws IOException {
        Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")).withSettleTime(Duration.ofSeconds(10)),
                List.of(root));
        RootScan scan = new Reconciler(registry, clock, () -> settings).reconcile(config, root);
        assertThat(scan.reachable()).as("problems: %s", scan.problems()).isTrue();
        assertThat(scan.checkpoints()).extracting(Registered::state).containsOnly(CheckpointState.COMPLETE);
        EvictionPlan plan = EvictionPlan.of(registry, List.of(root), Map.of(), null, clock.instant());
        return new Enforcer(registry, audit, EnforcementListener.NONE, settings).enforce(root, null,
                plan.evictions(root.name()), false, clock.instant());
    }

    private void assertOldestEvictedAndAudited(EnforcementReport report, String uri) throws IOException {
        assertThat(report.items()).extracting(i -> RemoteLocation.text(i.path()) + " " + i.outcome()).containsExactlyInAnyOrder(
                uri + "/lit/epoch=1-step=10.ckpt ok", uri + "/lit/epoch=2-step=20.ckpt ok", uri + "/hf/checkpoint-100 ok");
        assertThat(report.problems()).isEmpty();
        List<AuditRecord> lines = AuditLog.read(audit.file());
        for (EnforcementReport.Item item : report.items()) {
            String key = item.path().toString();
            assertThat(lines).filteredOn(l -> l.path().equals(key)).extracting(AuditRecord::phase, AuditRecord::outcome)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(AuditRecord.BEGIN, null),
                            org.assertj.core.groups.Tuple.tuple(AuditRecord.END, "ok"));
            assertThat(registry.byPath(key).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
        }
        assertThat(registry.present(uri)).hasSize(4);
    }

    @Test
    void keepLastOnAnSftpRootRemovesTheOldestThroughTheTrashAndTheAuditLog() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = tree(Files.createDirectories(server.home.resolve("ckpt")));
            String uri = server.uri("/ckpt");

            EnforcementReport report = pass(root(uri, Action.DELETE), server.settings());

            assertOldestEvictedAndAudited(report, uri);
            assertThat(dir.resolve("lit/epoch=1-step=10.ckpt")).doesNotExist();
            assertThat(dir.resolve("hf/checkpoint-100")).doesNotExist();
            assertThat(dir.resolve("lit/epoch=3-step=30.ckpt")).isRegularFile();
            assertThat(dir.resolve("lit/epoch=4-step=40.ckpt")).isRegularFile();
            assertThat(dir.resolve("hf/checkpoint-200/trainer_state.json")).isRegularFile();
            assertThat(dir.resolve("hf/checkpoint-300/model.safetensors")).isRegularFile();
            assertThat(dir.resolve(".ckpt-warden-trash")).isEmptyDirectory();
        }
    }

    @Test
    void keepLastOnAnS3RootDeletesTheOldestObjectsAndLeavesTheRest() throws Exception {
        Path dir = tree(Files.createDirectories(tmp.resolve("local")));
        try (S3TestServer s3 = S3TestServer.start()) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path f : all.filter(Files::isRegularFile).toList()) {
                    s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/" + dir.relativize(f))
                            .payload(Files.readAllBytes(f)).build());
                }
            }
            String uri = "s3://" + S3TestServer.BUCKET + "/ckpt";

            EnforcementReport report = pass(root(uri, Action.DELETE), s3.settings());

            assertOldestEvictedAndAudited(report, uri);
            assertThat(s3.keys()).containsExactly("ckpt/hf/checkpoint-200/model.safetensors",
                    "ckpt/hf/checkpoint-200/optimizer.pt", "ckpt/hf/checkpoint-200/trainer_state.json",
                    "ckpt/hf/checkpoint-300/model.safetensors", "ckpt/hf/checkpoint-300/optimizer.pt",
                    "ckpt/hf/checkpoint-300/trainer_state.json", "ckpt/lit/epoch=3-step=30.ckpt",
                    "ckpt/lit/epoch=4-step=40.ckpt");
        }
    }

    @Test
    void anS3DeletionCutShortRemovedTheMarkerFirstSoWhatIsLeftIsNeverComplete() throws Exception {
        Path dir = tree(Files.createDirectories(tmp.resolve("local")));
        // The store refuses to delete one weights file: the deletion of checkpoint-100 stops there.
        UnaryOperator<BlobStore> failing = store -> new ForwardingBlobStore(store) {
            @Override
            public void removeBlob(String container, String name) {
                if (name.endsWith("checkpoint-100/model.safetensors")) {
                    throw new IllegalStateException("disk failure");
                }
                super.removeBlob(container, name);
            }
        };
        try (S3TestServer s3 = S3TestServer.start(failing)) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path f : all.filter(Files::isRegularFile).toList()) {
                    s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/" + dir.relativize(f))
                            .payload(Files.readAllBytes(f)).build());
                }
            }
            String uri = "s3://" + S3TestServer.BUCKET + "/ckpt";
            RootConfig root = root(uri, Action.DELETE);

            EnforcementReport report = pass(root, s3.settings());

            EnforcementReport.Item cut = report.items().stream().filter(i -> i.path().endsWith("checkpoint-100"))
                    .findFirst().orElseThrow();
            assertThat(cut.outcome()).isEqualTo("failed:delete cut short");
            assertThat(cut.detail()).startsWith("1 of 3 objects deleted");
            assertThat(s3.keys()).filteredOn(k -> k.contains("checkpoint-100/")).containsExactly(
                    "ckpt/hf/checkpoint-100/model.safetensors", "ckpt/hf/checkpoint-100/optimizer.pt");
            assertThat(AuditLog.read(audit.file())).filteredOn(l -> l.path().equals(cut.path().toString()))
                    .extracting(AuditRecord::phase, AuditRecord::outcome).containsExactly(
                            org.assertj.core.groups.Tuple.tuple(AuditRecord.BEGIN, null),
                            org.assertj.core.groups.Tuple.tuple(AuditRecord.END, "failed:delete cut short"));
            // What is left lacks trainer_state.json: the next scan sees a save in progress, never a complete one.
            Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(root));
            new Reconciler(registry, clock, s3::settings).reconcile(config, root);
            assertThat(registry.byPath(cut.path().toString()).orElseThrow().state()).isEqualTo(CheckpointState.WRITING);
        }
    }

    @Test
    void aGuardThatSaysNoProtectsARemoteRootToo() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = root(server.uri("/ckpt"), Action.DELETE);
            Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(root));
            new Reconciler(registry, clock, server::settings).reconcile(config, root);
            EvictionPlan plan = EvictionPlan.of(registry, List.of(root), Map.of(), null, clock.instant());
            Enforcer enforcer = new Enforcer(registry, audit, EnforcementListener.NONE, server.settings());
            enforcer.guardWith(r -> {
                throw new IOException("lease held by another agent");
            });

            EnforcementReport report = enforcer.enforce(root, null, plan.evictions(root.name()), false, clock.instant());

            assertThat(report.items()).hasSize(3)
                    .allSatisfy(i -> assertThat(i.outcome()).isEqualTo("failed:not allowed to delete"));
            assertThat(dir.resolve("lit/epoch=1-step=10.ckpt")).isRegularFile();
            assertThat(dir.resolve("hf/checkpoint-100")).isDirectory();
            assertThat(AuditLog.read(audit.file())).isEmpty();
        }
    }

    @Test
    void aLeaseLostDuringARemotePassStopsTheEvictionsNotYetStarted() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = root(server.uri("/ckpt"), Action.DELETE);
            Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(root));
            new Reconciler(registry, clock, server::settings).reconcile(config, root);
            List<Eviction> evictions = EvictionPlan.of(registry, List.of(root), Map.of(), null, clock.instant())
                    .evictions(root.name());
            assertThat(evictions).hasSize(3);
            int[] asked = {0};
            Enforcer enforcer = new Enforcer(registry, audit, EnforcementListener.NONE, server.settings());
            enforcer.guardWith(r -> {
                if (++asked[0] > 2) { // the pass's own check, then the first eviction's; the lease is lost after it
                    throw new IOException("lease lost");
                }
            });

            EnforcementReport report = enforcer.enforce(root, null, evictions, false, clock.instant());

            assertThat(report.items()).extracting(EnforcementReport.Item::outcome).containsExactly("ok",
                    "failed:not allowed to delete", "failed:not allowed to delete");
            for (EnforcementReport.Item refused : report.items().subList(1, 3)) {
                assertThat(registry.byPath(refused.path().toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
                assertThat(AuditLog.read(audit.file())).noneMatch(l -> l.path().equals(refused.path().toString()));
            }
            assertThat(AuditLog.read(audit.file())).hasSize(2);
        }
    }

    @Test
    void aStopDuringARemotePassFinishesTheEvictionInProgressAndStartsNoOther() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = root(server.uri("/ckpt"), Action.DELETE);
            Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(root));
            new Reconciler(registry, clock, server::settings).reconcile(config, root);
            List<Eviction> evictions = EvictionPlan.of(registry, List.of(root), Map.of(), null, clock.instant())
                    .evictions(root.name());
            Enforcer[] self = new Enforcer[1];
            self[0] = new Enforcer(registry, audit, new EnforcementListener() {
                @Override
                public void renamed(Path checkpoint, String member) {
                    self[0].stop(); // SIGTERM arrives during the first eviction
                }
            }, server.settings());

            EnforcementReport report = self[0].enforce(root, null, evictions, false, clock.instant());

            assertThat(report.items()).extracting(EnforcementReport.Item::outcome).containsExactly("ok",
                    "skipped:agent stopping", "skipped:agent stopping");
            for (EnforcementReport.Item left : report.items().subList(1, 3)) {
                assertThat(registry.byPath(left.path().toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
            }
            assertThat(AuditLog.read(audit.file())).hasSize(2);
        }
    }

    @Test
    void aDryRunOnARemoteRootTouchesNothingAndWritesNoAuditLine() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = root(server.uri("/ckpt"), Action.DELETE);
            Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(root));
            new Reconciler(registry, clock, server::settings).reconcile(config, root);
            EvictionPlan plan = EvictionPlan.of(registry, List.of(root), Map.of(), null, clock.instant());

            EnforcementReport report = new Enforcer(registry, audit, EnforcementListener.NONE, server.settings())
                    .enforce(root, null, plan.evictions(root.name()), true, clock.instant());

            assertThat(report.items()).hasSize(3).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("dry-run"));
            assertThat(dir.resolve("lit/epoch=1-step=10.ckpt")).isRegularFile();
            assertThat(dir.resolve("hf/checkpoint-100")).isDirectory();
            assertThat(AuditLog.read(audit.file())).isEmpty();
        }
    }

    @Test
    void aRemotePathOutsideTheRootIsRefusedAndNothingIsDeleted() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            tree(Files.createDirectories(server.home.resolve("ckpt")));
            Path outside = Files.createDirectories(server.home.resolve("other"));
            SampleFiles.torchZip(outside.resolve("epoch=9-step=90.ckpt"), 9, 90L, true, true);
            RootConfig root = root(server.uri("/ckpt"), Action.DELETE);
            Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")), List.of(root));
            new Reconciler(registry, clock, server::settings).reconcile(config, root);
            Registered inside = registry.byPath(RemoteLocation.path(server.uri("/ckpt/lit/epoch=1-step=10.ckpt")).toString())
                    .orElseThrow();
            // The same checkpoint record, pointed at a file beside the root (a registry row gone wrong), and registered.
            Registered escaped = new Registered(new Checkpoint(inside.root(), inside.run(), inside.name(),
                    RemoteLocation.path(server.uri("/ckpt/../other/epoch=9-step=90.ckpt")), List.of(),
                    inside.framework(), inside.kind(), inside.epoch(), inside.step(), inside.metrics(), inside.bytes(),
                    inside.modified(), inside.resumable(), null, List.of(), List.of(), inside.signature()),
                    inside.state(), null, false, null, inside.firstSeen(), inside.stateSince());
            registry.upsert(List.of(escaped));

            EnforcementReport report = new Enforcer(registry, audit, EnforcementListener.NONE, server.settings())
                    .enforce(root, null, List.of(new Eviction(escaped, EvictionCause.MANUAL, List.of())), false, clock.instant());

            assertThat(report.items()).singleElement().satisfies(i -> {
                assertThat(i.outcome()).isEqualTo("skipped:outside root");
                assertThat(i.detail()).contains("outside the root " + server.uri("/ckpt"));
            });
            assertThat(outside.resolve("epoch=9-step=90.ckpt")).isRegularFile();
            assertThat(AuditLog.read(audit.file())).extracting(AuditRecord::phase).containsExactly(AuditRecord.BEGIN,
                    AuditRecord.END);
        }
    }
}
