package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.util.Map;
import java.util.TreeMap;

/** The offload round trip against an in-process S3Proxy. */
class S3RoundTripTest extends RoundTripContract {
    S3TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = S3TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Override
    String target() {
        return "s3://" + S3TestServer.BUCKET + "/ckpt";
    }

    @Override
    RemoteSettings settings() {
        return server.settings();
    }

    @Override
    Map<String, String> remoteFiles(String rel) throws Exception {
        String key = "ckpt/" + rel;
        Map<String, String> out = new TreeMap<>();
        for (String k : server.keys()) {
            if (k.equals(key)) {
                out.put(key.substring(key.lastIndexOf('/') + 1), OffloadSite.sha256(server.get(k)));
            } else if (k.startsWith(key + "/")) {
                out.put(k.substring(key.length() + 1), OffloadSite.sha256(server.get(k)));
            }
        }
        return out;
    }

    @Override
    String uriOf(String rel) {
        return "s3://" + S3TestServer.BUCKET + "/ckpt/" + rel;
    }
}
