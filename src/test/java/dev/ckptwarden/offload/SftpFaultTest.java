package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.enforce.EnforcementReport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Offloads to SFTP that fail: each deletes nothing locally, leaves no file on the server, keeps the
 * registry's state and records why.
 */
class SftpFaultTest {
    private static final int BIG = 3 << 20;

    @TempDir
    Path tmp;
    SftpTestServer server;
    OffloadSite site;

    @BeforeEach
    void start() throws Exception {
        server = SftpTestServer.start(tmp.resolve("sftp"));
        site = new OffloadSite(tmp.resolve("site"), server.uri("/archive"), server.settings());
    }

    @AfterEach
    void stop() throws Exception {
        site.close();
        server.close();
    }

    /**
     * Files (partial copies, manifests) and staging directories the server holds; the target's own
     * directories ({@code archive/data/ckpt/big}) may stay.
     */
    private List<Path> serverFiles() throws IOException {
        try (Stream<Path> s = Files.walk(server.home)) {
            return s.filter(p -> Files.isRegularFile(p) || p.getFileName().toString().contains("ckpt-warden")).toList();
        }
    }

    @Test
    void remoteDiskFullMidUploadLeavesEverythingAsItWas() throws Exception {
        Path big = site.big(BIG);
        Map<String, String> before = OffloadSite.files(big);
        server.fault = (session, file, position, data, written) -> {
            if (written + data.remaining() > (1 << 20)) {
                throw new IOException("No space left on device");
            }
        };
        EnforcementReport r = site.offload(big);
        String detail = FailedOffload.check(site, big, before, r, "failed:offload remote write failed");
        assertThat(detail).contains(server.uri("/archive/data/ckpt/big"));
        assertThat(server.writes.get()).as("the upload was under way when the disk filled").isGreaterThan(3);
        assertThat(serverFiles()).isEmpty();
    }

    @Test
    void connectionDroppedMidUploadLeavesEverythingAsItWas() throws Exception {
        Path big = site.big(BIG);
        Map<String, String> before = OffloadSite.files(big);
        server.fault = (session, file, position, data, written) -> {
            if (written > (1 << 20)) {
                session.close(true);
                throw new IOException("connection dropped by the test");
            }
        };
        EnforcementReport r = site.offload(big);
        FailedOffload.check(site, big, before, r, r.items().get(0).outcome());
        assertThat(r.items().get(0).outcome()).isIn("failed:offload remote write failed", "failed:offload unreachable");
        assertThat(server.writes.get()).isGreaterThan(3);
        // The client removes its partial copy after reconnecting, but writes the server still had queued
        // from the dropped session may land after that removal (seen in 1 of ~10 runs). What must hold:
        // nothing is left under the final name or with a manifest, only the marked partial directory,
        // and the next attempt replaces it and completes.
        assertThat(serverFiles()).as("only a marked partial copy may remain after a dropped connection")
                .allMatch(p -> server.home.relativize(p).toString().contains(".ckpt-warden-partial"));
        server.fault = SftpTestServer.WriteFault.NONE;
        EnforcementReport retry = site.offload(big);
        assertThat(retry.items().get(0).outcome()).isEqualTo("ok");
        assertThat(serverFiles()).noneMatch(p -> p.toString().contains(".ckpt-warden-partial"))
                .anyMatch(p -> p.getFileName().toString().equals("model-step=500.safetensors.ckpt-warden.json"));
    }

    @Test
    void bytesCorruptedOnTheServerFailVerification() throws Exception {
        Path big = site.big(BIG);
        Map<String, String> before = OffloadSite.files(big);
        long at = 2_000_000;
        server.fault = (session, file, position, data, written) -> {
            if (!file.getFileName().toString().endsWith(".safetensors")) {
                return;
            }
            if (position <= at && at < position + data.remaining()) {
                int i = data.position() + (int) (at - position);
                data.put(i, (byte) (data.get(i) ^ 0x01));
            }
        };
        EnforcementReport r = site.offload(big);
        String detail = FailedOffload.check(site, big, before, r, "failed:offload verification failed");
        assertThat(detail).contains("sha256 of the stored bytes");
        assertThat(serverFiles()).isEmpty();
    }

    @Test
    void sizeOnlyVerificationStillCatchesATruncatedCopy() throws Exception {
        // verify: size cannot see a flipped byte, but it must see missing bytes.
        Path big = site.big(BIG);
        Map<String, String> before = OffloadSite.files(big);
        server.fault = (session, file, position, data, written) -> {
            if (position >= (1 << 20) && file.getFileName().toString().endsWith(".safetensors")) {
                data.position(data.limit()); // acknowledged, never stored
            }
        };
        EnforcementReport r = site.offloadVerifying("size", big);
        FailedOffload.check(site, big, before, r, "failed:offload verification failed");
        assertThat(serverFiles()).isEmpty();
    }

    @Test
    void wrongKeyIsAnAuthenticationFailure() throws Exception {
        Path f = site.lit(0);
        Map<String, String> before = OffloadSite.files(f);
        RemoteSettings s = server.settings();
        site.settings = new RemoteSettings(server.otherIdentity, null, s.sftpKnownHosts(), null, null, null, 0, 0,
                s.connectTimeout(), s.readTimeout());
        EnforcementReport r = site.offload(f);
        FailedOffload.check(site, f, before, r, "failed:offload authentication failed");
        assertThat(serverFiles()).isEmpty();
    }

    @Test
    void unknownHostKeyIsRefused() throws Exception {
        Path f = site.lit(0);
        Map<String, String> before = OffloadSite.files(f);
        Path empty = Files.writeString(tmp.resolve("empty_known_hosts"), "");
        RemoteSettings s = server.settings();
        site.settings = new RemoteSettings(s.sftpIdentity(), null, empty, null, null, null, 0, 0, s.connectTimeout(),
                s.readTimeout());
        EnforcementReport r = site.offload(f);
        FailedOffload.check(site, f, before, r, "failed:offload host key not trusted");
        assertThat(serverFiles()).isEmpty();
    }

    @Test
    void closedPortIsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (OffloadSite other = new OffloadSite(tmp.resolve("site2"), "sftp://tester@127.0.0.1:" + port + "/archive",
                server.settings())) {
            Path f = other.lit(0);
            Map<String, String> before = OffloadSite.files(f);
            EnforcementReport r = other.offload(f);
            String detail = FailedOffload.check(other, f, before, r, "failed:offload unreachable");
            assertThat(detail).contains("127.0.0.1:" + port);
        }
    }

    @Test
    void checkpointRewrittenDuringTheCopyIsKeptAndTheCopyRemoved() throws Exception {
        Path big = site.big(BIG);
        server.fault = (session, file, position, data, written) -> {
            if (written == 0 && file.getFileName().toString().endsWith(".safetensors")) {
                Files.setLastModifiedTime(big, FileTime.fromMillis(System.currentTimeMillis())); // a new save landed
            }
        };
        EnforcementReport r = site.offload(big);
        assertThat(r.items().get(0).outcome()).isEqualTo("skipped:changed since planned");
        assertThat(r.items().get(0).detail()).contains("changed during the copy").contains("was removed");
        assertThat(big).exists();
        assertThat(site.registered(big).state()).isEqualTo(dev.ckptwarden.catalog.CheckpointState.COMPLETE);
        assertThat(site.history(big, OffloadReceipt.FAILED_EVENT)).hasSize(1);
        assertThat(serverFiles()).isEmpty();
    }
}
