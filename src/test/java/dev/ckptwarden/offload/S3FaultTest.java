package dev.ckptwarden.offload;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.enforce.EnforcementReport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Offloads to S3 that fail: each deletes nothing locally, leaves no object visible in the bucket,
 * keeps the registry's state and records why; an unfinished multipart upload is aborted (at once, or
 * by the next upload of the same key when the server could not be reached to abort it).
 */
class S3FaultTest {
    private static final int BIG = 12 << 20; // three 5 MiB parts

    @TempDir
    Path tmp;
    S3TestServer server;
    FaultyTcpProxy proxy;
    OffloadSite site;

    @BeforeEach
    void start() throws Exception {
        server = S3TestServer.start();
        proxy = new FaultyTcpProxy(server.port());
        site = new OffloadSite(tmp.resolve("site"), "s3://" + S3TestServer.BUCKET + "/ckpt",
                S3TestServer.settings(URI.create("http://127.0.0.1:" + proxy.port()), S3TestServer.SECRET_KEY));
    }

    @AfterEach
    void stop() throws Exception {
        site.close();
        proxy.close();
        server.close();
    }

    @Test
    void connectionCutMidUploadPublishesNothingAndTheNextUploadCleansUp() throws Exception {
        Path big = site.big(BIG);
        Map<String, String> before = OffloadSite.files(big);
        proxy.cutAfter(7 << 20); // inside the second part
        EnforcementReport r = site.offload(big);
        assertThat(proxy.wasCut()).isTrue();
        FailedOffload.check(site, big, before, r, r.items().get(0).outcome());
        assertThat(r.items().get(0).outcome()).isIn("failed:offload remote write failed", "failed:offload unreachable");
        assertThat(server.keys()).isEmpty();
        assertThat(server.unfinishedUploads()).as("the abort could not get through either").isEqualTo(1);

        proxy.heal();
        EnforcementReport again = site.offload(big);
        assertThat(again.items().get(0).outcome()).isEqualTo("ok");
        assertThat(server.unfinishedUploads()).isZero();
        assertThat(server.keys()).containsExactly("ckpt/data/ckpt/big/model-step=500.safetensors",
                "ckpt/data/ckpt/big/model-step=500.safetensors.ckpt-warden.json");
        assertThat(site.registered(big).state()).isEqualTo(CheckpointState.OFFLOADED);
    }

    @Test
    void byteFlippedOnTheWireIsNeverAccepted() throws Exception {
        Path big = site.big(BIG);
        Map<String, String> before = OffloadSite.files(big);
        proxy.flipAt(2 << 20); // in the body of the first part
        EnforcementReport r = site.offload(big);
        // S3Proxy stores what it receives (no payload checksum is sent); reading it back is what catches it.
        String detail = FailedOffload.check(site, big, before, r, "failed:offload verification failed");
        assertThat(detail).contains("sha256 of the stored bytes");
        assertThat(server.keys()).isEmpty();
        assertThat(server.unfinishedUploads()).isZero();
    }

    @Test
    void wrongSecretIsAnAuthenticationFailure() throws Exception {
        site.settings = S3TestServer.settings(server.endpoint(), "not-the-secret");
        Path f = site.lit(0);
        Map<String, String> before = OffloadSite.files(f);
        EnforcementReport r = site.offload(f);
        String detail = FailedOffload.check(site, f, before, r, "failed:offload authentication failed");
        assertThat(detail).contains("HTTP 403");
        assertThat(server.keys()).isEmpty();
    }

    @Test
    void closedPortIsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        site.settings = S3TestServer.settings(URI.create("http://127.0.0.1:" + port), S3TestServer.SECRET_KEY);
        Path f = site.lit(0);
        Map<String, String> before = OffloadSite.files(f);
        EnforcementReport r = site.offload(f);
        FailedOffload.check(site, f, before, r, "failed:offload unreachable");
    }
}
