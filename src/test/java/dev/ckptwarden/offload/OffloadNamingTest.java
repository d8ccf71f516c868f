package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.offload.OffloadManifest.Entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where offloaded checkpoints go, what their checksum means, and how targets are reached. */
class OffloadNamingTest {
    @TempDir
    Path tmp;

    @Test
    void rootNamesBecomeRelativeKeys() {
        assertThat(Offloader.rootKey("/data/checkpoints")).isEqualTo("data/checkpoints");
        assertThat(Offloader.rootKey("team//ckpt/")).isEqualTo("team/ckpt");
        assertThat(Offloader.rootKey("file:///mnt/x")).isEqualTo("mnt/x");
        assertThat(Offloader.rootKey("/a/../b")).isEqualTo("a/__/b");
        assertThat(Offloader.rootKey("/")).isEqualTo("_");
    }

    @Test
    void treeChecksumIsTheSha256OfASortedSha256sumListing() throws Exception {
        List<Entry> entries = List.of(
                new Entry("checkpoint-5", true, 0, null, 1),
                new Entry("checkpoint-5/b.bin", false, 1, "bb", 2),
                new Entry("checkpoint-5/a.json", false, 1, "aa", 3));
        String listing = "aa  checkpoint-5/a.json\nbb  checkpoint-5/b.bin\n";
        assertThat(OffloadManifest.digest(entries))
                .isEqualTo(OffloadSite.sha256(listing.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void singleFileChecksumIsThatFilesOwn() {
        assertThat(OffloadManifest.digest(List.of(new Entry("x.ckpt", false, 3, "abc123", 0)))).isEqualTo("abc123");
    }

    @Test
    void manifestRoundTripsAndRejectsTampering() throws Exception {
        OffloadManifest m = OffloadManifest.of("r", "run/checkpoint-5", "directory", List.of(
                new Entry("checkpoint-5", true, 0, null, 10),
                new Entry("checkpoint-5/a", false, 4, "00ff", 20)));
        OffloadManifest back = OffloadManifest.parse(m.toBytes(), "m");
        assertThat(back).isEqualTo(m);
        String edited = new String(m.toBytes(), StandardCharsets.UTF_8).replace("00ff", "00fe");
        assertThatThrownBy(() -> OffloadManifest.parse(edited.getBytes(StandardCharsets.UTF_8), "m"))
                .hasMessageContaining("does not match");
        String escaping = new String(m.toBytes(), StandardCharsets.UTF_8).replace("checkpoint-5/a", "../../etc/x");
        assertThatThrownBy(() -> OffloadManifest.parse(escaping.getBytes(StandardCharsets.UTF_8), "m"))
                .hasMessageContaining("unsafe entry path");
    }

    @Test
    void receiptDetailRoundTrips() {
        OffloadReceipt r = new OffloadReceipt("sftp://u@h:22/a/run/epoch=3-step=9.ckpt", "ab12", 42, 1, false);
        assertThat(r.detail()).isEqualTo("uri=sftp://u@h:22/a/run/epoch=3-step=9.ckpt sha256=ab12 bytes=42 files=1");
        assertThat(OffloadReceipt.parse(r.detail())).isEqualTo(r);
        assertThat(OffloadReceipt.parse("policy")).isNull();
    }

    @Test
    void passwordsInUrisAndOtherSchemesAreRefused() throws Exception {
        try (RemoteFiles remote = RemoteFiles.open(RemoteSettings.fromEnvironment(Map.of(), tmp))) {
            assertThatThrownBy(() -> remote.resolve("sftp://bob:hunter2@archive/ckpt"))
                    .hasMessageContaining("passwords are not accepted").hasMessageNotContaining("hunter2");
            assertThatThrownBy(() -> remote.resolve("ftp://archive/ckpt")).hasMessageContaining("unsupported scheme");
            assertThat(remote.resolve(tmp.toString()).exists()).isTrue();
        }
    }

    @Test
    void identityAndKnownHostsComeFromTheEnvironmentOrHome() throws Exception {
        Path ssh = Files.createDirectories(tmp.resolve(".ssh"));
        Files.writeString(ssh.resolve("id_rsa"), "k");
        Files.writeString(ssh.resolve("id_ecdsa"), "k");
        RemoteSettings home = RemoteSettings.fromEnvironment(Map.of(), tmp);
        assertThat(home.sftpIdentity()).isEqualTo(ssh.resolve("id_ecdsa"));
        assertThat(home.sftpKnownHosts()).isEqualTo(ssh.resolve("known_hosts"));
        assertThat(home.s3Endpoint()).isNull();
        RemoteSettings env = RemoteSettings.fromEnvironment(Map.of(RemoteSettings.SFTP_IDENTITY, "/keys/archive",
                RemoteSettings.SFTP_KNOWN_HOSTS, "/keys/known_hosts", "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"), tmp);
        assertThat(env.sftpIdentity()).isEqualTo(Path.of("/keys/archive"));
        assertThat(env.sftpKnownHosts()).isEqualTo(Path.of("/keys/known_hosts"));
        assertThat(env.s3Endpoint()).hasToString("http://127.0.0.1:9000");
    }
}
