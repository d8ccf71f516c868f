package dev.ckptwarden.it;

import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import static org.assertj.core.api.Assertions.assertThat;

/** A real Prometheus (the Debian package's binary) scrapes the real agent; a metric is read back through its HTTP API. */
class PrometheusScrapeIT {
    @TempDir
    Path dir;

    @Test
    void prometheusScrapesTheAgentAndAnswersAQuery() throws Exception {
        Path binary = findOnPath("prometheus");
        Assumptions.assumeTrue(binary != null, "no prometheus binary on PATH (Debian package 'prometheus'): skipping");
        Path root = Files.createDirectories(dir.resolve("ckpt/run"));
        TinyCheckpoints.torchZip(root.resolve("epoch=1-step=100.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(root.resolve("epoch=2-step=200.ckpt"), 2, 200L, true);
        Path cfg = dir.resolve("ckpt-warden.yaml");
        Files.writeString(cfg, "agent:\n  state_dir: " + dir.resolve("state") + "\n  listen: 127.0.0.1:0\n"
                + "  reconcile_interval: 1h\nroots:\n  - path: " + dir.resolve("ckpt") + "\n");
        try (AgentProcess agent = AgentProcess.start("run", "--config", cfg.toString())) {
            int line = agent.awaitLine("serving /metrics", 0, Duration.ofSeconds(30));
            Matcher m = java.util.regex.Pattern.compile(":(\\d+)\\s*$").matcher(agent.output().split("\n")[line]);
            assertThat(m.find()).isTrue();
            int agentPort = Integer.parseInt(m.group(1));
            agent.awaitLine("agent started", 0, Duration.ofSeconds(30));

            int promPort;
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                promPort = s.getLocalPort();
            }
            Path promCfg = dir.resolve("prometheus.yml");
            Files.writeString(promCfg, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ckpt-warden\n"
                    + "    static_configs:\n      - targets: ['127.0.0.1:" + agentPort + "']\n");
            Process prom = new ProcessBuilder(binary.toString(), "--config.file=" + promCfg,
                    "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + promPort)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            try {
                HttpClient http = HttpClient.newHttpClient();
                String query = URLEncoder.encode("ckpt_warden_checkpoints{state=\"complete\",run=\"run\"}", StandardCharsets.UTF_8);
                URI uri = URI.create("http://127.0.0.1:" + promPort + "/api/v1/query?query=" + query);
                String body = "";
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                // Waits for Prometheus to have scraped once (it reports nothing until then); bounded.
                while (System.nanoTime() < deadline && !body.contains("\"value\"")) {
                    try {
                        body = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
                    } catch (java.io.IOException notUpYet) {
                        body = "";
                    }
                    if (!body.contains("\"value\"")) {
                        prom.waitFor(250, TimeUnit.MILLISECONDS);
                    }
                }
                assertThat(body).as("Prometheus answer; its log: %s", Files.readString(dir.resolve("prometheus.log")))
                        .contains("\"status\":\"success\"").contains("\"job\":\"ckpt-warden\"").containsPattern("\"2\"\\]");
            } finally {
                prom.destroy();
                prom.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static Path findOnPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
