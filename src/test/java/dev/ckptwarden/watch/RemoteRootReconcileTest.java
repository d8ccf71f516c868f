package dev.ckptwarden.watch;

import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.cli.SampleFiles;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.offload.FaultyTcpProxy;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.offload.S3TestServer;
import dev.ckptwarden.offload.SftpTestServer;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Remote roots (issue #6) against real in-process servers: an SFTP root (Apache MINA SSHD) and an S3
 * root (S3Proxy) are recognised exactly as the same tree scanned locally, read only headers, and an
 * unreachable root or wrong credentials report a problem without marking anything gone.
 */
class RemoteRootReconcileTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final Duration SETTLE = Duration.ofSeconds(10);
    /** Size of each Lightning save's tensor data: far more than any header read. */
    private static final int SAVE_BYTES = 8 << 20;

    @TempDir
    Path tmp;

    private SqliteRegistry registry;
    private MutableClock clock;

    @BeforeEach
    void open() throws IOException {
        registry = SqliteRegistry.open(Files.createDirectories(tmp.resolve("state")));
        // S3 stamps objects with the server's time: settle against the real clock, an hour on.
        clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
    }

    @AfterEach
    void close() {
        registry.close();
    }

    /** An HF run (two checkpoint-N/, one without optimizer), a Lightning run with a last.ckpt copy and a truncated save. */
    private static Path tree(Path root) throws IOException {
        TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);
        TreeBuilder.hfCheckpoint(root.resolve("hf"), 1000, false, true, T0);
        Path run = Files.createDirectories(root.resolve("lit"));
        for (int epoch = 1; epoch <= 3; epoch++) {
            Path f = run.resolve("epoch=" + epoch + "-step=" + (epoch * 10) + ".ckpt");
            SampleFiles.torchZip(f, epoch, (long) epoch * 10, true, epoch != 2, SAVE_BYTES);
        }
        Files.copy(run.resolve("epoch=2-step=20.ckpt"), run.resolve("last.ckpt"));
        Path cut = run.resolve("epoch=3-step=30.ckpt");
        try (RandomAccessFile raf = new RandomAccessFile(cut.toFile(), "rw")) {
            raf.setLength(raf.length() / 2);
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                TreeBuilder.touch(p, T0);
            }
        }
        return root;
    }

    private RootScan scan(RootConfig root, RemoteSettings settings) {
        Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")).withSettleTime(SETTLE), List.of(root));
        return new Reconciler(registry, clock, () -> settings).reconcile(config, root);
    }

    /** What recognition decided, keyed by run/name, without the location. */
    private static Map<String, String> recognised(List<Registered> checkpoints) {
        Map<String, String> out = new TreeMap<>();
        for (Registered c : checkpoints) {
            out.put(c.run() + "/" + c.name(), c.framework().id() + " " + c.kind().id() + " epoch=" + c.epoch() + " step="
                    + c.step() + " metrics=" + new TreeMap<>(c.metrics()) + " " + c.state().id() + " resumable="
                    + c.resumable() + " bytes=" + c.bytes() + " alias=" + (c.aliasOf() == null ? null
                    : c.aliasOf().getFileName()) + " problems=" + c.problems().size());
        }
        return out;
    }

    private static void assertRecognisedLikeLocal(RootScan local, RootScan remote) {
        assertThat(remote.reachable()).as("problems: %s", remote.problems()).isTrue();
        assertThat(recognised(remote.checkpoints())).isEqualTo(recognised(local.checkpoints()));
        Map<String, String> seen = recognised(remote.checkpoints());
        assertThat(seen).containsOnlyKeys("hf/checkpoint-500", "hf/checkpoint-1000", "lit/epoch=1-step=10.ckpt",
                "lit/epoch=2-step=20.ckpt", "lit/epoch=3-step=30.ckpt", "lit/last.ckpt");
        assertThat(seen.get("hf/checkpoint-500")).startsWith("huggingface directory epoch=1 step=500 metrics={eval_loss=0.25}"
                + " complete resumable=true");
        assertThat(seen.get("lit/epoch=1-step=10.ckpt")).startsWith("lightning file epoch=1 step=10 metrics={} complete"
                + " resumable=true");
        assertThat(seen.get("lit/epoch=3-step=30.ckpt")).contains(" corrupt ");
        assertThat(seen.get("lit/last.ckpt")).contains("alias=epoch=2-step=20.ckpt");
    }

    @Test
    void sftpRootIsRecognisedLikeTheSameTreeScannedLocally() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootScan local = scan(RootConfig.watchOnly(dir.toString()), server.settings());
            RootScan remote = scan(RootConfig.watchOnly(server.uri("/ckpt")), server.settings());

            assertRecognisedLikeLocal(local, remote);
            Registered hf = remote.checkpoints().stream().filter(c -> c.name().equals("checkpoint-500")).findFirst().orElseThrow();
            assertThat(hf.path()).hasToString("sftp:/tester@127.0.0.1:" + server.port() + "/ckpt/hf/checkpoint-500");
            // Users (ls --json, resolve, the API) see the URI.
            assertThat(CheckpointJson.of(hf).get("path").asText()).isEqualTo(server.uri("/ckpt/hf/checkpoint-500"));
            // Registered like local ones: what ls and the API read.
            assertThat(registry.present(server.uri("/ckpt"))).hasSize(6);
            assertThat(registry.present(server.uri("/ckpt")).get(hf.key()).state()).isEqualTo(CheckpointState.COMPLETE);
        }
    }

    @Test
    void s3RootIsRecognisedLikeTheSameTreeLocallyAndReadsOnlyHeaders() throws Exception {
        Path dir = tree(Files.createDirectories(tmp.resolve("local")));
        long total = 0;
        try (S3TestServer s3 = S3TestServer.start(); FaultyTcpProxy counter = new FaultyTcpProxy(s3.port())) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path f : all.filter(Files::isRegularFile).toList()) {
                    byte[] bytes = Files.readAllBytes(f);
                    total += bytes.length;
                    s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/" + dir.relativize(f)).payload(bytes)
                            .build());
                }
            }
            RemoteSettings viaCounter = S3TestServer.settings(URI.create("http://127.0.0.1:" + counter.port()),
                    S3TestServer.SECRET_KEY);
            RootScan local = scan(RootConfig.watchOnly(dir.toString()), viaCounter);
            long before = counter.downstream();
            RootScan remote = scan(RootConfig.watchOnly("s3://" + S3TestServer.BUCKET + "/ckpt"), viaCounter);
            long read = counter.downstream() - before;

            assertRecognisedLikeLocal(local, remote);
            // Listings, a trainer_state.json each, headers and central directories: never whole saves.
            assertThat(total).isGreaterThan(3L * SAVE_BYTES);
            assertThat(read).as("bytes received from S3 for one scan of %d bytes", total).isLessThan(1L << 20);
            System.out.printf("s3 scan: %d bytes received for a tree of %d bytes%n", read, total);
        }
    }

    @Test
    void sftpRootSettlesByMtimeRereadsOnlyWhatChangedAndNoticesDeletions() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            Path dir = tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = RootConfig.watchOnly(server.uri("/ckpt"));
            assertThat(scan(root, server.settings()).inspected()).isEqualTo(6);

            RootScan again = scan(root, server.settings());
            assertThat(again.inspected()).as("an unchanged remote tree costs listings only").isZero();
            assertThat(again.checkpoints()).hasSize(6);

            Path fresh = SampleFiles.torchZip(dir.resolve("lit/epoch=4-step=40.ckpt"), 4, 40L, true, true);
            TreeBuilder.touch(fresh, clock.instant().minusSeconds(2));
            Files.delete(dir.resolve("lit/epoch=1-step=10.ckpt"));
            RootScan writing = scan(root, server.settings());
            assertThat(writing.gone()).isEqualTo(1);
            assertThat(state(writing, "lit/epoch=4-step=40.ckpt")).isEqualTo(CheckpointState.WRITING);

            clock.advance(SETTLE);
            RootScan settled = scan(root, server.settings());
            assertThat(state(settled, "lit/epoch=4-step=40.ckpt")).isEqualTo(CheckpointState.COMPLETE);
            assertThat(registry.byPath(RemoteReconciler.rootPath(server.uri("/ckpt/lit/epoch=1-step=10.ckpt")).toString())
                    .orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
        }
    }

    private static CheckpointState state(RootScan scan, String runAndName) {
        return scan.checkpoints().stream().filter(c -> (c.run() + "/" + c.name()).equals(runAndName)).findFirst()
                .orElseThrow(() -> new AssertionError(runAndName + " not found")).state();
    }

    @Test
    void unreachableSftpHostReportsAProblemAndMarksNothingGone() throws Exception {
        SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"));
        String uri = server.uri("/ckpt");
        RootConfig root = RootConfig.watchOnly(uri);
        try (server) {
            tree(Files.createDirectories(server.home.resolve("ckpt")));
            assertThat(scan(root, server.settings()).checkpoints()).hasSize(6);
        }
        // A pass scoped to nothing (the agent's local-event passes) takes the registry's view: no connection at all.
        Config config = new Config(null, AgentSettings.defaults(tmp.resolve("state")).withSettleTime(SETTLE), List.of(root));
        RootScan known = new Reconciler(registry, clock, () -> {
            throw new AssertionError("remote settings asked for: a connection was attempted");
        }).reconcile(config, root, java.util.Set.of());
        assertThat(known.checkpoints()).hasSize(6);
        assertThat(known.problems()).isEmpty();

        RootScan down = scan(root, server.settings());

        assertThat(down.reachable()).isFalse();
        assertThat(down.gone()).isZero();
        assertThat(down.problems()).singleElement().satisfies(p -> assertThat(p.message()).startsWith("not reachable: "));
        assertThat(registry.present(uri)).hasSize(6);
    }

    @Test
    void wrongSftpKeyOrUnknownHostKeyReportsAProblemAndMarksNothingGone() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"))) {
            tree(Files.createDirectories(server.home.resolve("ckpt")));
            RootConfig root = RootConfig.watchOnly(server.uri("/ckpt"));
            scan(root, server.settings());
            RemoteSettings s = server.settings();
            RemoteSettings wrongKey = new RemoteSettings(server.otherIdentity, null, server.knownHosts, null, null, null, 0, 0,
                    s.connectTimeout(), s.readTimeout());

            RootScan denied = scan(root, wrongKey);

            assertThat(denied.reachable()).isFalse();
            assertThat(denied.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("Auth"));
            assertThat(registry.present(root.name())).hasSize(6);

            // known_hosts is honoured: a server whose host key is not in it is refused.
            Path emptyKnownHosts = Files.writeString(tmp.resolve("known_hosts"), "");
            RootScan untrusted = scan(root, new RemoteSettings(server.identity, null, emptyKnownHosts, null, null, null, 0, 0,
                    s.connectTimeout(), s.readTimeout()));
            assertThat(untrusted.reachable()).isFalse();
            assertThat(untrusted.problems()).singleElement()
                    .satisfies(p -> assertThat(p.message()).containsIgnoringCase("HostKey"));
            assertThat(registry.present(root.name())).hasSize(6);
        }
    }

    @Test
    void wrongS3SecretReportsAProblemAndMarksNothingGone() throws Exception {
        try (S3TestServer s3 = S3TestServer.start()) {
            s3.store.putBlob(S3TestServer.BUCKET, s3.store.blobBuilder("ckpt/run/model.safetensors")
                    .payload(Files.readAllBytes(SampleFiles.safetensors(tmp.resolve("m.safetensors")))).build());
            RootConfig root = RootConfig.watchOnly("s3://" + S3TestServer.BUCKET + "/ckpt");
            assertThat(scan(root, s3.settings()).checkpoints()).hasSize(1);

            RootScan denied = scan(root, S3TestServer.settings(s3.endpoint(), "not-the-secret"));

            assertThat(denied.reachable()).isFalse();
            assertThat(denied.gone()).isZero();
            assertThat(denied.problems()).singleElement().satisfies(p -> assertThat(p.message()).startsWith("not reachable: "));
            assertThat(registry.present(root.name())).hasSize(1);
        }
    }

    @Test
    void aPathOutsideTheRemoteRootIsRefused() throws Exception {
        try (SftpTestServer server = SftpTestServer.start(tmp.resolve("sftp"));
             RemoteFiles files = RemoteFiles.open(server.settings())) {
            Files.createDirectories(server.home.resolve("ckpt"));
            Files.writeString(server.home.resolve("secret.txt"), "not under the root");
            String uri = server.uri("/ckpt");
            Path rootPath = RemoteReconciler.rootPath(uri);
            VfsFileSource source = new VfsFileSource(rootPath, files.resolve(uri));

            assertThatThrownBy(() -> source.open(rootPath.resolve("../secret.txt")))
                    .hasMessageContaining("outside the remote root");
            assertThatThrownBy(() -> source.open(RemoteReconciler.rootPath(server.uri("/secret.txt"))))
                    .hasMessageContaining("outside the remote root");
            assertThat(source.typeOf(rootPath.resolve("../secret.txt"), true)).isNull();
        }
    }
}
