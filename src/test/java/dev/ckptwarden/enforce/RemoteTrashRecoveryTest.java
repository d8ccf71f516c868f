package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.S3TestServer;
import dev.ckptwarden.offload.SftpTestServer;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.testing.MutableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Remote roots (SFTP, S3) go through the same deletion protocol as local ones: an eviction a crash
 * interrupted is finished and recorded at the next start from its signed manifest in the root's remote
 * trash, and a manifest someone else planted there (not signed with the agent's key, or naming paths
 * outside the root) moves and deletes nothing, neither outside the root nor a pinned checkpoint.
 */
class RemoteTrashRecoveryTest {
    private static final String TRASH = TrashBin.DIR_NAME;

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

    /** A crash in the middle of an eviction: nothing in the deletion path catches an Error. */
    private static final class Crash extends Error {
        Crash() {
            super("simulated crash");
        }
    }

    private void reconcile(RootConfig root, RemoteSettings settings) throws IOException {
        Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")).withSettleTime(Duration.ofSeconds(10)),
                List.of(root));
        new dev.ckptwarden.watch.Reconciler(registry, clock, () -> settings).reconcile(config, root);
    }

    private List<Eviction> plan(RootConfig root) throws IOException {
        return EvictionPlan.of(registry, List.of(root), Map.of(), null, clock.instant()).evictions(root.name());
    }

    private Enforcer enforcer(RemoteSettings settings, EnforcementListener listener) {
        return new Enforcer(registry, audit, listener, settings);
    }

    /** Enforces with a listener that crashes the pass right after the first move into the trash. */
    private Eviction crashAfterFirstMove(RootConfig root, RemoteSettings settings) throws IOException {
        List<Eviction> evictions = plan(root);
        assertThat(evictions).isNotEmpty();
        EnforcementListener crashing = new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                throw new Crash();
            }
        };
        assertThatThrownBy(() -> enforcer(settings, crashing).enforce(root, null, evictions, false, clock.instant()))
                .isInstanceOf(Crash.class);
        return evictions.get(0);
    }

    private void assertRecordedAsEvicted(EnforcementReport recovered, Eviction interrupted) throws IOException {
        String key = interrupted.checkpoint().key();
        assertThat(recovered.items()).extracting(i -> i.path().toString() + " " + i.outcome())
                .containsExactly(key + " " + "ok");
        assertThat(registry.byPath(key).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
        assertThat(AuditLog.read(audit.file())).filteredOn(l -> l.path().equals(key))
                .extracting(AuditRecord::phase, AuditRecord::outcome).containsExactly(
                        org.assertj.core.groups.Tuple.tuple(AuditRecord.BEGIN, null),
                        org.assertj.core.groups.Tuple.tuple(AuditRecord.END, "ok"));
    }

    /** A manifest line for {@code members} of {@code parent}, signed with a key that is not the agent's. */
    private byte[] forged(String id, String path, String parent, List<String> members) throws IOException {
        ManifestKey attackers = ManifestKey.open(Files.createDirectories(tmp.resolve("attacker-" + id)));
        List<EntrySnapshot> snapshots = members.stream()
                .map(m -> new EntrySnapshot(m, Entry.Type.FILE, 1, 0, null)).toList();
        return new TrashManifest(id, "r", "run", path, parent, snapshots, 1, EvictionCause.POLICY, Action.DELETE, clock.instant())
                .toBytes(attackers);
    }

    @Test
    void anSftpEvictionInterruptedAfterItsMoveIsRecordedAndFinishedAtTheNextStart() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = RemoteEvictionTest.tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = RemoteEvictionTest.root(server.uri("/ckpt"), Action.DELETE);
            reconcile(root, server.settings());
            Eviction interrupted = crashAfterFirstMove(root, server.settings());
            Path local = dir.resolve(RemoteLocation.path(server.uri("/ckpt")).relativize(interrupted.checkpoint().path())
                    .toString());
            assertThat(local).doesNotExist();
            assertThat(registry.byPath(interrupted.checkpoint().key()).orElseThrow().state())
                    .isEqualTo(CheckpointState.COMPLETE);

            EnforcementReport recovered = enforcer(server.settings(), EnforcementListener.NONE)
                    .recover(root, null, clock.instant());

            assertRecordedAsEvicted(recovered, interrupted);
            assertThat(recovered.problems()).isEmpty();
            assertThat(dir.resolve(TRASH)).isEmptyDirectory();
        }
    }

    @Test
    void aManifestPlantedInAnSftpTrashMovesAndDeletesNothing() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = RemoteEvictionTest.tree(Files.createDirectories(server.home.resolve("ckpt")));
            Path victim = Files.writeString(Files.createDirectories(server.home.resolve("other")).resolve("victim"),
                    "someone else's data");
            RootConfig root = RemoteEvictionTest.root(server.uri("/ckpt"), Action.DELETE);
            reconcile(root, server.settings());
            Path pinned = dir.resolve("lit/epoch=3-step=30.ckpt");
            String pinnedKey = RemoteLocation.path(server.uri("/ckpt/lit/epoch=3-step=30.ckpt")).toString();
            assertThat(registry.pin(pinnedKey, true, "the paper's run")).isTrue();
            Path trash = Files.createDirectories(dir.resolve(TRASH));
            // Member 0 "already moved", so that a trusting recovery would roll the pinned one forward.
            Files.writeString(trash.resolve("1-1-1.0"), "bait");
            Files.write(trash.resolve("1-1-1.manifest.json"), forged("1-1-1", pinnedKey, "lit",
                    List.of("planted", "epoch=3-step=30.ckpt")));
            Files.writeString(trash.resolve("2-2-2.manifest.json"), "00 {\"version\":1,\"id\":\"2-2-2\",\"parent\":\"\","
                    + "\"members\":[{\"name\":\"../other/victim\",\"type\":\"file\"}]}\n");
            Files.createSymbolicLink(trash.resolve("2-2-2.0"), victim);

            EnforcementReport recovered = enforcer(server.settings(), EnforcementListener.NONE)
                    .recover(root, null, clock.instant());
            EnforcementReport pass = enforcer(server.settings(), EnforcementListener.NONE)
                    .enforce(root, null, plan(root), false, clock.instant());

            assertThat(recovered.items()).isEmpty();
            assertThat(recovered.problems()).hasSize(2).allSatisfy(p -> assertThat(p).contains("refused"));
            assertThat(victim).hasContent("someone else's data");
            assertThat(pinned).isRegularFile();
            assertThat(registry.byPath(pinnedKey).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
            // Not the agent's to explain or to delete: what was planted stays where it was put.
            assertThat(trash.resolve("1-1-1.0")).hasContent("bait");
            assertThat(trash.resolve("1-1-1.manifest.json")).exists();
            assertThat(trash.resolve("2-2-2.0")).isSymbolicLink();
            assertThat(pass.items()).extracting(EnforcementReport.Item::outcome).containsOnly("ok");
            assertThat(pass.items()).noneMatch(i -> i.path().toString().equals(pinnedKey));
        }
    }

    private static void upload(S3TestServer s3, Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path f : all.filter(Files::isRegularFile).toList()) {
                s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/" + dir.relativize(f))
                        .payload(Files.readAllBytes(f)).build());
            }
        }
    }

    @Test
    void anS3EvictionInterruptedAfterItsMarkerWasDeletedIsFinishedAndRecordedAtTheNextStart() throws Exception {
        Path dir = RemoteEvictionTest.tree(Files.createDirectories(tmp.resolve("local")));
        try (S3TestServer s3 = S3TestServer.start()) {
            upload(s3, dir);
            RootConfig root = RemoteEvictionTest.root("s3://" + S3TestServer.BUCKET + "/ckpt", Action.DELETE);
            reconcile(root, s3.settings());
            Eviction interrupted = crashAfterFirstMove(root, s3.settings());
            String prefix = "ckpt/" + RemoteLocation.path("s3://" + S3TestServer.BUCKET + "/ckpt")
                    .relativize(interrupted.checkpoint().path());
            assertThat(s3.keys()).anyMatch(k -> k.startsWith(TRASH, "ckpt/".length()));

            EnforcementReport recovered = enforcer(s3.settings(), EnforcementListener.NONE)
                    .recover(root, null, clock.instant());

            assertRecordedAsEvicted(recovered, interrupted);
            assertThat(recovered.problems()).isEmpty();
            assertThat(s3.keys()).noneMatch(k -> k.startsWith(prefix)).noneMatch(k -> k.contains(TRASH));
            assertThat(s3.keys()).hasSize(13 - (prefix.endsWith(".ckpt") ? 1 : 3));
        }
    }

    @Test
    void aManifestPlantedInAnS3TrashDeletesNothing() throws Exception {
        Path dir = RemoteEvictionTest.tree(Files.createDirectories(tmp.resolve("local")));
        try (S3TestServer s3 = S3TestServer.start()) {
            upload(s3, dir);
            String uri = "s3://" + S3TestServer.BUCKET + "/ckpt";
            RootConfig root = RemoteEvictionTest.root(uri, Action.DELETE);
            reconcile(root, s3.settings());
            String pinnedKey = RemoteLocation.path(uri + "/hf/checkpoint-200").toString();
            assertThat(registry.pin(pinnedKey, true, "the paper's run")).isTrue();
            s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("outside/victim").payload("data").build());
            s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/" + TRASH + "/1-1-1.manifest.json")
                    .payload(forged("1-1-1", pinnedKey, "hf", List.of("checkpoint-200"))).build());
            s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/" + TRASH + "/2-2-2.manifest.json")
                    .payload(forged("2-2-2", uri + "/../outside/victim", "", List.of("victim"))).build());
            List<String> before = s3.keys();

            EnforcementReport recovered = enforcer(s3.settings(), EnforcementListener.NONE)
                    .recover(root, null, clock.instant());

            assertThat(recovered.items()).isEmpty();
            assertThat(recovered.problems()).hasSize(2).allSatisfy(p -> assertThat(p).contains("refused"));
            assertThat(s3.keys()).isEqualTo(before);
            assertThat(new String(s3.get("outside/victim"), StandardCharsets.UTF_8)).isEqualTo("data");
            assertThat(registry.byPath(pinnedKey).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
        }
    }
}
