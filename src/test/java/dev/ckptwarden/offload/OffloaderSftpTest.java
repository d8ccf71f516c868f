package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.config.Offload;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OffloaderSftpTest {
    @TempDir
    Path tmp;
    SftpTestServer server;
    RemoteFiles remote;

    @BeforeEach
    void start() throws Exception {
        server = SftpTestServer.start(tmp);
        remote = RemoteFiles.open(server.settings());
    }

    @AfterEach
    void stop() throws Exception {
        remote.close();
        server.close();
    }

    @Test
    void directoryCheckpointIsCopiedWithItsManifest() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("local/run-a"));
        TinyCheckpoints.huggingFace(run.resolve("checkpoint-500"), 500);
        OffloadReceipt r = new Offloader(remote).copy(new Offload(server.uri("/archive"), "sha256"), "/data/ckpt",
                "run-a/checkpoint-500", new PathSource(run, List.of("checkpoint-500")));
        Path remoteDir = server.home.resolve("archive/data/ckpt/run-a/checkpoint-500");
        assertThat(Files.readAllBytes(remoteDir.resolve("model.safetensors")))
                .isEqualTo(Files.readAllBytes(run.resolve("checkpoint-500/model.safetensors")));
        assertThat(remoteDir.resolveSibling("checkpoint-500.ckpt-warden.json")).exists();
        assertThat(r.uri()).isEqualTo(server.uri("/archive/data/ckpt/run-a/checkpoint-500"));
        assertThat(r.files()).isEqualTo(2);
        try (var s = Files.list(remoteDir.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList())
                    .containsExactlyInAnyOrder("checkpoint-500", "checkpoint-500.ckpt-warden.json");
        }
    }

    @Test
    void fileCheckpointSha256IsTheFilesOwn() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("local/run-b"));
        Path f = TinyCheckpoints.torchZip(run.resolve("epoch=3-step=300.ckpt"), 3, 300L, true);
        OffloadReceipt r = new Offloader(remote).copy(new Offload(server.uri("/archive"), "sha256"), "/data/ckpt",
                "run-b/epoch=3-step=300.ckpt", new PathSource(run, List.of("epoch=3-step=300.ckpt")));
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        assertThat(r.sha256()).isEqualTo(expected);
        assertThat(server.home.resolve("archive/data/ckpt/run-b/epoch=3-step=300.ckpt")).hasSameBinaryContentAs(f);
    }

    @Test
    void aCompleteCopyOfTheSameCheckpointIsReusedAndADifferentOneRefused() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("local/run-c"));
        Path f = TinyCheckpoints.torchZip(run.resolve("epoch=1-step=10.ckpt"), 1, 10L, true);
        Offload target = new Offload(server.uri("/archive"), "sha256");
        Offloader offloader = new Offloader(remote);
        OffloadReceipt first = offloader.copy(target, "r", "run-c/epoch=1-step=10.ckpt",
                new PathSource(run, List.of("epoch=1-step=10.ckpt")));
        long writes = server.writes.get();

        OffloadReceipt again = offloader.copy(target, "r", "run-c/epoch=1-step=10.ckpt",
                new PathSource(run, List.of("epoch=1-step=10.ckpt")));
        assertThat(again.reused()).isTrue();
        assertThat(again.sha256()).isEqualTo(first.sha256());
        assertThat(server.writes.get() - writes).as("only the manifest is written again").isLessThanOrEqualTo(1);

        TinyCheckpoints.torchZip(f, 2, 20L, true); // same name, other content
        assertThatThrownBy(() -> offloader.copy(target, "r", "run-c/epoch=1-step=10.ckpt",
                new PathSource(run, List.of("epoch=1-step=10.ckpt"))))
                .isInstanceOf(OffloadException.class).hasMessageContaining("describes a different checkpoint")
                .satisfies(e -> assertThat(((OffloadException) e).kind()).isEqualTo(OffloadException.Kind.CONFLICT));
        assertThat(OffloadSite.sha256(Files.readAllBytes(server.home.resolve("archive/r/run-c/epoch=1-step=10.ckpt"))))
                .isEqualTo(first.sha256());
    }

    @Test
    void leftoversOfAnUnfinishedCopyAreReplaced() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("local/run-d"));
        TinyCheckpoints.huggingFace(run.resolve("checkpoint-7"), 7);
        Path remoteRun = Files.createDirectories(server.home.resolve("archive/r/run-d"));
        Files.createDirectories(remoteRun.resolve(".checkpoint-7.ckpt-warden-partial/checkpoint-7"));
        Files.writeString(remoteRun.resolve(".checkpoint-7.ckpt-warden-partial/checkpoint-7/model.safetensors"), "half");
        Files.createDirectories(remoteRun.resolve("checkpoint-7"));
        Files.writeString(remoteRun.resolve("checkpoint-7/stale-shard.bin"), "from an attempt that died before its manifest");

        new Offloader(remote).copy(new Offload(server.uri("/archive"), "sha256"), "r", "run-d/checkpoint-7",
                new PathSource(run, List.of("checkpoint-7")));

        try (var s = Files.walk(remoteRun)) {
            assertThat(s.filter(Files::isRegularFile).map(p -> remoteRun.relativize(p).toString()).sorted().toList())
                    .containsExactly("checkpoint-7.ckpt-warden.json", "checkpoint-7/model.safetensors",
                            "checkpoint-7/trainer_state.json");
        }
    }
}
