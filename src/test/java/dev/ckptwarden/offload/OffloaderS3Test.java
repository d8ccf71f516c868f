package dev.ckptwarden.offload;

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
}
