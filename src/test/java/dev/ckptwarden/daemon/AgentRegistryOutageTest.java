package dev.ckptwarden.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.export.HttpApi;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.testing.LogLines;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 18: while the registry database is down the agent said 200 on /healthz, answered API calls with a
 * 500 after 10 s, logged a stack trace per pass, and (its reconcile loop counted dead) would have been
 * restarted by the systemd watchdog. A real PostgreSQL is stopped and started again under a running agent.
 */
class AgentRegistryOutageTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void aRegistryOutageIsReportedOnceServedAsFast503AndDoesNotStopTheLoops() throws Exception {
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        for (int s = 1; s <= 2; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, T0);
        }
        MutableClock clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (PostgresServer pg = PostgresServer.dedicated()) {
            String url = pg.freshDatabase();
            Path file = dir.resolve("ckpt-warden.yaml");
            Files.writeString(file, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1m\n"
                    + "  settle_time: 10s\n  listen: 127.0.0.1:0\n  registry_url: " + url + "\nroots:\n  - path: " + root + "\n");
            Config cfg = ConfigLoader.load(file, Map.of());
            AgentMetrics metrics = new AgentMetrics("test");
            try (PostgresRegistry registry = PostgresRegistry.open(url, pg.env(), clock);
                 AuditLog audit = AuditLog.open(dir.resolve("state"));
                 Agent agent = new Agent(cfg, null, Map.of(), registry, new Enforcer(registry, audit), metrics, clock);
                 HttpApi api = new HttpApi(new InetSocketAddress("127.0.0.1", 0), metrics, registry, agent::config,
                         agent::loopHealth, agent.registryHealth(), clock, new dev.ckptwarden.watch.Reconciler(registry, clock));
                 LogLines logs = LogLines.capture()) {
                api.start();
                String base = "http://127.0.0.1:" + api.port();
                // Passes are driven by hand: no scheduler runs, so nothing races the test.
                agent.run(PassKind.STARTUP);
                assertThat(get(client, base + "/api/v1/runs").statusCode()).isEqualTo(200);
                assertThat(registryUp(metrics)).isEqualTo("1.0");

                pg.pause();
                agent.run(PassKind.PERIODIC);
                clock.advance(Duration.ofSeconds(30));
                agent.run(PassKind.PERIODIC);

                HttpResponse<String> health = get(client, base + "/healthz");
                assertThat(health.statusCode()).isEqualTo(503);
                JsonNode body = JSON.readTree(health.body());
                assertThat(body.get("failing").toString()).contains("\"registry\"");
                assertThat(body.get("registry").get("up").asBoolean()).isFalse();
                assertThat(body.get("registry").get("error").asText()).contains("postgresql://127.0.0.1:" + pg.port());
                assertThat(registryUp(metrics)).isEqualTo("0.0");

                long started = System.nanoTime();
                HttpResponse<String> runs = get(client, base + "/api/v1/runs");
                assertThat(Duration.ofNanos(System.nanoTime() - started)).as("answered at once").isLessThan(Duration.ofSeconds(2));
                assertThat(runs.statusCode()).isEqualTo(503);
                assertThat(runs.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
                assertThat(JSON.readTree(runs.body()).get("error").asText()).contains("registry").contains("postgresql://");

                // The watchdog pets while the loops live: a pass that stopped at the registry still counts as alive,
                // also long after the last pass that finished.
                clock.advance(Duration.ofHours(3));
                agent.run(PassKind.EVENT);
                assertThat(agent.loopHealth().reconcile()).as("the reconcile loop is alive during the outage").isTrue();

                assertThat(logs.lines()).filteredOn(l -> l.contains("unreachable")).as("one line when the outage starts")
                        .hasSize(1).allMatch(l -> l.startsWith("WARN ") && l.contains("postgresql://127.0.0.1:" + pg.port()));
                assertThat(logs.withStackTraces()).as("no stack trace for an expected outage").isEmpty();

                pg.resume();
                clock.advance(Duration.ofSeconds(12));
                agent.run(PassKind.REGISTRY_PROBE);

                JsonNode after = JSON.readTree(get(client, base + "/healthz").body());
                assertThat(after.get("registry").get("up").asBoolean()).isTrue();
                assertThat(after.get("failing").toString()).doesNotContain("registry");
                assertThat(get(client, base + "/api/v1/runs").statusCode()).isEqualTo(200);
                assertThat(registryUp(metrics)).isEqualTo("1.0");
                assertThat(logs.lines()).filteredOn(l -> l.contains("outage ended")).as("one line when it ends")
                        .containsExactly("INFO registry reachable again; the outage ended after 3h42s");
                assertThat(logs.lines()).filteredOn(l -> l.contains("unreachable")).hasSize(1);
                assertThat(logs.withStackTraces()).isEmpty();
            } finally {
                metrics.close();
            }
        }
    }

    private static HttpResponse<String> get(HttpClient client, String uri) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String registryUp(AgentMetrics metrics) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape("text/plain", out);
        for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith("ckpt_warden_registry_up ")) {
                return line.substring("ckpt_warden_registry_up ".length()).strip();
            }
        }
        return "absent";
    }
}
