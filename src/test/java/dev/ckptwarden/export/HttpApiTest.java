package dev.ckptwarden.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static dev.ckptwarden.catalog.CheckpointState.COMPLETE;
import static dev.ckptwarden.catalog.CheckpointState.WRITING;
import static dev.ckptwarden.export.Fixtures.ckpt;
import static dev.ckptwarden.export.Fixtures.withMetric;
import static dev.ckptwarden.export.Fixtures.withResumable;
import static org.assertj.core.api.Assertions.assertThat;

class HttpApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(Fixtures.T0.plusSeconds(86_400));
    private final AtomicReference<LoopHealth> health = new AtomicReference<>(new LoopHealth(true, true, true));
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private SqliteRegistry registry;
    private AgentMetrics metrics;
    private HttpApi api;
    private Config config;
    private Path main;
    private Registered s100;
    private Registered s200;
    private Registered s300;

    @BeforeEach
    void start() throws IOException {
        main = Files.createDirectories(tmp.resolve("main"));
        Path aux = Files.createDirectories(tmp.resolve("aux"));
        config = Fixtures.config(tmp.resolve("state"), 500,
                Fixtures.root("main", main, new Retention(1, new KeepBest(1, "val_loss", KeepBest.Mode.MIN), null, null),
                        Quota.NONE, DiskWatermark.NONE),
                Fixtures.root("aux", aux, null, Quota.NONE, DiskWatermark.NONE));
        registry = SqliteRegistry.open(tmp.resolve("state"), clock);
        s100 = withMetric(ckpt(main, "main", "bert", 100, 1000, COMPLETE), "val_loss", 0.5);
        s200 = withMetric(ckpt(main, "main", "bert", 200, 2000, COMPLETE), "val_loss", 0.25);
        // Newest complete, but weights only: not resumable.
        s300 = withResumable(withMetric(ckpt(main, "main", "bert", 300, 3000, COMPLETE), "val_loss", 0.4), false);
        registry.upsert(List.of(s100, s200, s300,
                ckpt(main, "main", "bert", 400, 4000, WRITING),
                ckpt(main, "main", "gpt/small", 10, 10, COMPLETE),
                ckpt(main, "main", "shared", 1, 1, COMPLETE),
                ckpt(aux, "aux", "shared", 1, 1, COMPLETE),
                ckpt(main, "main", "old", 5, 5, COMPLETE)));
        registry.markGone(List.of(ckpt(main, "main", "old", 5, 5, COMPLETE).key()), CheckpointState.DELETED,
                Fixtures.T0.plusSeconds(60), "policy");
        metrics = new AgentMetrics("9.9.9");
        api = new HttpApi(new InetSocketAddress("127.0.0.1", 0), metrics, registry, () -> config, health::get,
                new RegistryHealth(clock), clock, new dev.ckptwarden.watch.Reconciler(registry, clock));
        api.start();
    }

    @AfterEach
    void stop() {
        api.close();
        metrics.close();
        registry.close();
    }

    private HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
        return send("GET", pathAndQuery, null);
    }

    private HttpResponse<String> send(String method, String pathAndQuery, String accept)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + pathAndQuery))
                .timeout(Duration.ofSeconds(10))
                .method(method, method.equals("GET") || method.equals("HEAD") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString("{\"pinned\": true, \"state\": \"deleted\"}"));
        if (accept != null) {
            b.header("Accept", accept);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        return JSON.readTree(r.body());
    }

    @Test
    void healthzIsOkWhileEveryLoopLivesAnd503NamesTheDeadOne() throws Exception {
        HttpResponse<String> ok = get("/healthz");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(json(ok).get("status").asText()).isEqualTo("ok");

        health.set(new LoopHealth(false, true, false));
        HttpResponse<String> down = get("/healthz");
        assertThat(down.statusCode()).isEqualTo(503);
        JsonNode body = json(down);
        assertThat(body.get("status").asText()).isEqualTo("unhealthy");
        assertThat(body.get("failing").toString()).isEqualTo("[\"watcher\",\"reconcile\"]");
        assertThat(body.get("loops").get("scheduler").asBoolean()).isTrue();
    }

    @Test
    void metricsServeTheTextFormatAndOpenMetricsOnRequest() throws Exception {
        metrics.update(config, registry.list(null, null, false));
        HttpResponse<String> text = get("/metrics");
        assertThat(text.statusCode()).isEqualTo(200);
        assertThat(text.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        Exposition e = Exposition.parse(text.body());
        assertThat(e.value("ckpt_warden_checkpoints", Map.of("root", "main", "run", "bert", "state", "writing"))).isEqualTo(1);
        assertThat(e.value("ckpt_warden_checkpoint_bytes", Map.of("root", "main", "run", "gpt/small"))).isEqualTo(10);
        // A deleted checkpoint's run has no present checkpoint, so no series.
        assertThat(e.has("ckpt_warden_checkpoint_bytes", Map.of("run", "old"))).isFalse();
        assertThat(e.value("ckpt_warden_build_info", Map.of("version", "9.9.9"))).isEqualTo(1);

        HttpResponse<String> om = send("GET", "/metrics", "application/openmetrics-text; version=1.0.0");
        assertThat(om.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("application/openmetrics-text"));
        assertThat(om.body()).endsWith("# EOF\n");

        assertThat(get("/metrics?x=1").statusCode()).isEqualTo(400);
    }

    @Test
    void runsListCountsBytesLatestStepAndLastCheckpoint() throws Exception {
        HttpResponse<String> r = get("/api/v1/runs");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode runs = json(r).get("runs");
        assertThat(runs).hasSize(4);
        JsonNode bert = find(runs, "main", "bert");
        assertThat(bert.get("checkpoints").get("complete").asInt()).isEqualTo(3);
        assertThat(bert.get("checkpoints").get("writing").asInt()).isEqualTo(1);
        assertThat(bert.get("checkpoints").get("total").asInt()).isEqualTo(4);
        assertThat(bert.get("bytes").asLong()).isEqualTo(10_000);
        assertThat(bert.get("latest_step").asLong()).isEqualTo(300);
        assertThat(bert.get("last_checkpoint").asText()).isEqualTo(s300.modified().toString());
        assertThat(bert.get("best").get("metric").asText()).isEqualTo("val_loss");
        assertThat(bert.get("best").get("value").asDouble()).isEqualTo(0.25);
        assertThat(find(runs, "aux", "shared").get("best").isNull()).isTrue();

        JsonNode onlyAux = json(get("/api/v1/runs?root=aux")).get("runs");
        assertThat(onlyAux).hasSize(1);
        assertThat(get("/api/v1/runs?rooot=aux").statusCode()).isEqualTo(400);
    }

    @Test
    void checkpointsOfARunAreTheContractsCkptObjects() throws Exception {
        HttpResponse<String> r = get("/api/v1/checkpoints?run=bert");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode list = json(r).get("checkpoints");
        assertThat(list).hasSize(4);
        JsonNode first = list.get(0);
        assertThat(first.get("path").asText()).isEqualTo(s100.path().toString());
        for (String field : List.of("root", "run", "name", "path", "framework", "kind", "state", "epoch", "step", "metrics",
                "bytes", "resumable", "alias_of", "pinned", "problems")) {
            assertThat(first.has(field)).as(field).isTrue();
        }
        assertThat(first.get("framework").asText()).isEqualTo("lightning");
        assertThat(first.get("metrics").get("val_loss").asDouble()).isEqualTo(0.5);

        // A run id with a slash is passed URL-encoded.
        assertThat(json(get("/api/v1/checkpoints?run=gpt%2Fsmall")).get("checkpoints")).hasSize(1);
        assertThat(json(get("/api/v1/checkpoints?run=shared&root=aux")).get("checkpoints")).hasSize(1);
        // History only with all=true.
        assertThat(get("/api/v1/checkpoints?run=old").statusCode()).isEqualTo(404);
        JsonNode history = json(get("/api/v1/checkpoints?run=old&all=true")).get("checkpoints");
        assertThat(history.get(0).get("state").asText()).isEqualTo("deleted");

        assertError(get("/api/v1/checkpoints"), 400, "missing parameter 'run'");
        assertError(get("/api/v1/checkpoints?run=bert&all=yes"), 400, "must be true or false");
        assertError(get("/api/v1/checkpoints?run=bert&run=gpt"), 400, "more than once");
        assertError(get("/api/v1/checkpoints?run=bert&stat=complete"), 400, "unknown parameter 'stat'");
        assertError(get("/api/v1/checkpoints?run=nope"), 404, "no checkpoints registered for run 'nope'");
    }

    /** Real saves on disk for the runs the registry fixture names: resolve answers from the disk. */
    private Map<String, Path> realSaves() throws IOException {
        Path bert = main.resolve("bert");
        Map<String, Path> p = new java.util.HashMap<>();
        java.time.Instant old = Fixtures.T0;
        p.put("100", TreeBuilder.lightningCkpt(bert.resolve("epoch=1-step=100-val_loss=0.5.ckpt"), 1, 100L, true, old));
        p.put("200", TreeBuilder.lightningCkpt(bert.resolve("epoch=2-step=200-val_loss=0.25.ckpt"), 2, 200L, true, old));
        // Newest complete, but weights only: not resumable.
        p.put("300", TreeBuilder.lightningCkpt(bert.resolve("epoch=3-step=300-val_loss=0.4.ckpt"), 3, 300L, false, old));
        // Still being written: modified just now.
        p.put("400", TreeBuilder.lightningCkpt(bert.resolve("epoch=4-step=400.ckpt"), 4, 400L, true, clock.instant()));
        TreeBuilder.lightningCkpt(main.resolve("gpt/small/epoch=0-step=10.ckpt"), 0, 10L, true, old);
        TreeBuilder.lightningCkpt(main.resolve("shared/epoch=0-step=1.ckpt"), 0, 1L, true, old);
        TreeBuilder.lightningCkpt(tmp.resolve("aux/shared/epoch=0-step=1.ckpt"), 0, 1L, true, old);
        return p;
    }

    private String real(Path p) throws IOException {
        return p.toRealPath().toString();
    }

    @Test
    void resolveAnswersLatestBestStepAndResumable() throws Exception {
        Map<String, Path> saves = realSaves();
        assertThat(path(get("/api/v1/resolve?run=bert&which=latest"))).isEqualTo(real(saves.get("300")));
        assertThat(path(get("/api/v1/resolve?run=bert&which=latest&resumable=true"))).isEqualTo(real(saves.get("200")));
        assertThat(path(get("/api/v1/resolve?run=bert&which=best"))).isEqualTo(real(saves.get("200")));
        assertThat(path(get("/api/v1/resolve?run=bert&which=best&metric=val_loss&mode=max"))).isEqualTo(real(saves.get("100")));
        assertThat(path(get("/api/v1/resolve?run=bert&which=step:100"))).isEqualTo(real(saves.get("100")));
        assertThat(path(get("/api/v1/resolve?run=shared&root=aux&which=latest"))).contains("/aux/");

        // Step 400 is still being written: never an answer.
        assertError(get("/api/v1/resolve?run=bert&which=step:400"), 404, "no complete checkpoint matches 'step:400'");
        assertError(get("/api/v1/resolve?run=nope&which=latest"), 404, "no checkpoints registered");
        assertError(get("/api/v1/resolve?run=bert&which=newest"), 400, "unknown selector 'newest'");
        assertError(get("/api/v1/resolve?run=bert"), 400, "missing parameter 'which'");
        assertError(get("/api/v1/resolve?run=shared&which=latest"), 400, "several roots");
        assertError(get("/api/v1/resolve?run=gpt%2Fsmall&which=best&root=main&mode=max"), 400, "mode needs metric");
        assertError(get("/api/v1/resolve?run=bert&which=best&metric=val_loss&mode=up"), 400, "min or max");
    }

    /** Issue 14: the registry says step 300 is the latest; it was removed by hand and no pass has run since. */
    @Test
    void issue14ResolveNeverAnswersACheckpointRemovedByHand() throws Exception {
        Map<String, Path> saves = realSaves();
        assertThat(path(get("/api/v1/resolve?run=bert&which=latest"))).isEqualTo(real(saves.get("300")));
        Files.delete(saves.get("300"));
        assertThat(path(get("/api/v1/resolve?run=bert&which=latest"))).isEqualTo(real(saves.get("200")));
    }

    /** Issue 14: a run no pass has seen yet is found on disk. */
    @Test
    void issue14ResolveFindsARunTheRegistryHasNeverSeen() throws Exception {
        Path fresh = TreeBuilder.lightningCkpt(main.resolve("t5/epoch=1-step=7.ckpt"), 1, 7L, true, Fixtures.T0);
        assertThat(path(get("/api/v1/resolve?run=t5&which=latest"))).isEqualTo(real(fresh));
    }

    @Test
    void planShowsEveryDecisionWithReasonsAndEvictBytes() throws Exception {
        JsonNode plan = json(get("/api/v1/plan?root=main&run=bert"));
        JsonNode decisions = plan.get("decisions");
        assertThat(decisions).hasSize(4);
        List<String> evicted = new ArrayList<>();
        for (JsonNode d : decisions) {
            assertThat(d.get("run").asText()).isEqualTo("bert");
            assertThat(d.get("reasons")).isNotEmpty();
            if (d.get("action").asText().equals("evict")) {
                evicted.add(d.get("path").asText());
            }
        }
        // keep_last 1 keeps step 300, keep_best 1 keeps step 200 (val_loss 0.25), 400 is being written.
        assertThat(evicted).containsExactly(s100.path().toString());
        assertThat(plan.get("evict_bytes").asLong()).isEqualTo(1000);

        JsonNode all = json(get("/api/v1/plan"));
        assertThat(all.get("decisions")).hasSize(7);
        JsonNode aux = find(all.get("decisions"), "aux", "shared");
        assertThat(aux.get("action").asText()).isEqualTo("keep");
        assertThat(aux.get("reasons").get(0).asText()).isEqualTo("watch-only root");

        assertError(get("/api/v1/plan?root=nowhere"), 400, "unknown root 'nowhere' (configured: main, aux)");
    }

    /** Issue 15: an eviction the agent delays after a configuration change shows with its time, until it comes. */
    @Test
    void planShowsAnEvictionWaitingOutAPolicyChangeWithItsTime() throws Exception {
        java.time.Instant due = clock.instant().plusSeconds(300);
        dev.ckptwarden.enforce.PolicyChangeFile.write(tmp.resolve("state"),
                java.util.Map.of(s100.path().toString(), due), clock.instant());

        JsonNode waiting = json(get("/api/v1/plan?root=main&run=bert")).get("decisions");
        JsonNode d = null;
        for (JsonNode n : waiting) {
            if (n.get("path").asText().equals(s100.path().toString())) {
                d = n;
            }
        }
        assertThat(d.get("action").asText()).isEqualTo("evict");
        assertThat(d.get("not_before").asText()).isEqualTo(due.toString());
        assertThat(d.get("reasons").toString()).contains("policy change grace: evicted at ");

        clock.advance(java.time.Duration.ofSeconds(300));
        for (JsonNode n : json(get("/api/v1/plan?root=main&run=bert")).get("decisions")) {
            assertThat(n.has("not_before")).isFalse();
        }
    }

    @Test
    void unknownPathsAre404AndOtherMethods405WithoutChangingAnything() throws Exception {
        List<Registered> before = registry.list(null, null, true);
        List<HistoryEvent> historyBefore = registry.history(s100.key());

        assertError(get("/api/v1/nothing"), 404, "no such resource: /api/v1/nothing");
        assertError(get("/"), 404, "no such resource");
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
            for (String path : List.of("/api/v1/checkpoints?run=bert", "/api/v1/plan", "/healthz", "/metrics",
                    "/api/v1/resolve?run=bert&which=latest", "/api/v1/runs")) {
                HttpResponse<String> r = send(method, path, null);
                assertThat(r.statusCode()).as(method + " " + path).isEqualTo(405);
                assertThat(r.headers().firstValue("Allow")).hasValue("GET, HEAD");
                assertThat(json(r).get("error").asText()).contains("read-only");
            }
        }

        assertThat(registry.list(null, null, true)).isEqualTo(before);
        assertThat(registry.history(s100.key())).isEqualTo(historyBefore);
    }

    @Test
    void headAnswersHeadersWithoutABody() throws Exception {
        HttpResponse<String> r = send("HEAD", "/healthz", null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEmpty();
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
    }

    @Test
    void manyConcurrentRequestsAreAllServed() throws Exception {
        metrics.update(config, registry.list(null, null, false));
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            String path = i % 2 == 0 ? "/metrics" : "/api/v1/runs";
            pending.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (var f : pending) {
            assertThat(f.get().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void fiftyStalledClientsCannotStarveHealthzOrMetrics() throws Exception {
        // issue 14: connections that send one byte and stall held every worker for as long as they lasted
        List<java.net.Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                java.net.Socket s = new java.net.Socket("127.0.0.1", api.port());
                s.getOutputStream().write('G');
                s.getOutputStream().flush();
                stalled.add(s);
            }
            for (String path : List.of("/healthz", "/metrics")) {
                HttpResponse<String> r = client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port()
                        + path)).build(), HttpResponse.BodyHandlers.ofString()).get(3, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.statusCode()).as(path).isEqualTo(200);
            }
        } finally {
            for (java.net.Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void aClientThatNeverFinishesItsRequestIsDisconnected() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", api.port())) {
            s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            // A bound on the wait, not a sleep: the server closes the connection once the request time is up.
            s.setSoTimeout((int) HttpApi.MAX_REQUEST_TIME.plusSeconds(5).toMillis());
            long t0 = System.nanoTime();
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(HttpApi.MAX_REQUEST_TIME.plusSeconds(3));
        }
    }

    @Test
    void issue17AMalformedPercentEscapeIsRefusedWith400AndTheApiAnswersOn() throws Exception {
        // The JDK's server refuses a request line that is not a URI before any handler runs, with its own
        // text/html 400 (HttpApi's class comment): the API cannot make it JSON, only stay up behind it.
        for (String target : List.of("/api/v1/resolve?run=%zz", "/api/v1/resolve?run=%2", "/api/v1/%zz")) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", api.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertThat(answer).as(target).startsWith("HTTP/1.1 400 ");
            }
        }
        assertError(get("/api/v1/checkpoints?run=%25zz"), 404, "no checkpoints registered for run '%zz'");
    }

    @Test
    void everyErrorStatusCarriesAnErrorLineInJson() throws Exception {
        health.set(new LoopHealth(true, false, true));
        assertError(get("/healthz"), 503, "unhealthy: scheduler");
        assertError(get("/api/v1/nothing"), 404, "no such resource");
        assertError(send("DELETE", "/api/v1/runs", null), 405, "read-only");
        assertError(get("/api/v1/runs?colour=blue"), 400, "unknown parameter 'colour'");
    }

    @Test
    void anUnknownRootIs400OnEveryPathThatTakesOne() throws Exception {
        // plan and the command line refused it; runs answered an empty list and checkpoints or resolve a 404
        for (String path : List.of("/api/v1/runs?root=nowhere", "/api/v1/checkpoints?run=bert&root=nowhere",
                "/api/v1/resolve?run=bert&which=latest&root=nowhere", "/api/v1/plan?root=nowhere")) {
            assertError(get(path), 400, "unknown root 'nowhere' (configured: main, aux)");
        }
    }

    @Test
    void stepAndEpochSelectorsTooLargeForANumberAre400WithJson() throws Exception {
        assertError(get("/api/v1/resolve?run=bert&which=step:99999999999999999999"), 400,
                "selector 'step:99999999999999999999': the number is too large");
        assertError(get("/api/v1/resolve?run=bert&which=epoch:99999999999"), 400, "selector 'epoch:99999999999': the number is too large");
    }

    @Test
    void listenTextBecomesASocketAddress() {
        assertThat(HttpApi.address("127.0.0.1:9847")).isEqualTo(new InetSocketAddress("127.0.0.1", 9847));
        assertThat(HttpApi.address("[::1]:9847").getAddress().isLoopbackAddress()).isTrue();
        assertThat(HttpApi.address("0.0.0.0:0").getPort()).isZero();
    }

    private static void assertError(HttpResponse<String> r, int status, String message) throws IOException {
        assertThat(r.statusCode()).as(r.uri().toString()).isEqualTo(status);
        assertThat(json(r).get("error").asText()).contains(message);
    }

    private static String path(HttpResponse<String> r) throws IOException {
        assertThat(r.statusCode()).as(r.uri() + " -> " + r.body()).isEqualTo(200);
        return json(r).get("path").asText();
    }

    private static JsonNode find(JsonNode array, String root, String run) {
        for (JsonNode n : array) {
            if (n.get("root").asText().equals(root) && n.get("run").asText().equals(run)) {
                return n;
            }
        }
        throw new AssertionError("no " + root + "/" + run + " in " + array);
    }
}
