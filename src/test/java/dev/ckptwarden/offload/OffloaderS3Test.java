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
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class OffloaderS3Test {
    @TempDir
    Path tmp;
    S3TestServer server;
    RemoteFiles remote;

    @BeforeEach
    void start() throws Exception {
        server = S3TestServer.start();
        remote = RemoteFiles.open(server.settings());
    }

    @AfterEach
    void stop() throws Exception {
        remote.close();
        server.close();
    }

    @Test
    void largeFileGoesUpInPartsAndReadsBackIdentical() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("local/run-a"));
        byte[] data = new byte[12 << 20]; // three 5 MiB parts
        new Random(7).nextBytes(data);
        Files.write(run.resolve("model.pt"), data);
        OffloadReceipt r = new Offloader(remote).copy(new Offload("s3://" + S3TestServer.BUCKET + "/ckpt", "sha256"),
                "/data/ckpt", "run-a/model.pt", new PathSource(run, List.of("model.pt")));
        assertThat(server.keys()).containsExactly("ckpt/data/ckpt/run-a/model.pt",
                "ckpt/data/ckpt/run-a/model.pt.ckpt-warden.json");
        assertThat(server.get("ckpt/data/ckpt/run-a/model.pt")).isEqualTo(data);
        assertThat(r.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));
        assertThat(r.uri()).isEqualTo("s3://archive/ckpt/data/ckpt/run-a/model.pt");
        assertThat(server.unfinishedUploads()).isZero();
    }

    @Test
    void directoryCheckpoint() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("local/run-a"));
        TinyCheckpoints.huggingFace(run.resolve("checkpoint-500"), 500);
        new Offloader(remote).copy(new Offload("s3://" + S3TestServer.BUCKET + "/ckpt", "sha256"),
                "/data/ckpt", "run-a/checkpoint-500", new PathSource(run, List.of("checkpoint-500")));
        assertThat(server.keys()).containsExactly("ckpt/data/ckpt/run-a/checkpoint-500.ckpt-warden.json",
                "ckpt/data/ckpt/run-a/checkpoint-500/model.safetensors",
                "ckpt/data/ckpt/run-a/checkpoint-500/trainer_state.json");
    }

    @Test
    void filesAndPartsSentAtTheSameTimeAreStoredWholeAndInOrder() throws Exception {
        // Three files at once, each of nine 5 MiB parts with four in flight: buffers are reused and parts
        // complete out of order; the stored objects must still be the files, byte for byte.
        Path dir = Files.createDirectories(tmp.resolve("local/run-p/checkpoint-9"));
        Random random = new Random(9);
        for (String name : List.of("a.safetensors", "b.safetensors", "optimizer.pt")) {
            byte[] data = new byte[43 << 20];
            random.nextBytes(data);
            Files.write(dir.resolve(name), data);
        }
        new Offloader(remote).copy(new Offload("s3://" + S3TestServer.BUCKET + "/ckpt", "sha256", null, 3), "r",
                "run-p/checkpoint-9", new PathSource(dir.getParent(), List.of("checkpoint-9")));
        for (String name : List.of("a.safetensors", "b.safetensors", "optimizer.pt")) {
            assertThat(server.get("ckpt/r/run-p/checkpoint-9/" + name)).isEqualTo(Files.readAllBytes(dir.resolve(name)));
        }
        assertThat(server.unfinishedUploads()).isZero();
    }
}
