package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The offload round trip against an in-process SFTP server with key authentication and strict host keys. */
class SftpRoundTripTest extends RoundTripContract {
    SftpTestServer server;

    @BeforeEach
    void start() throws Exception {
        server = SftpTestServer.start(tmp.resolve("sftp"));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Override
    String target() {
        return server.uri("/archive");
    }

    @Override
    RemoteSettings settings() {
        return server.settings();
    }

    @Override
    Map<String, String> remoteFiles(String rel) throws Exception {
        Path p = server.home.resolve("archive").resolve(rel);
        return Files.exists(p) ? OffloadSite.files(p) : Map.of();
    }

    @Override
    String uriOf(String rel) {
        return server.uri("/archive/" + rel);
    }
}
