package dev.ckptwarden.export;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.PolicyChangeFile;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.Resolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The agent's read-only HTTP API (SPEC "HTTP API") on the JDK's {@link HttpServer}: {@code /metrics},
 * {@code /healthz}, and JSON under {@code /api/v1}. Only GET and HEAD are served, and no handler
 * writes anything: a request cannot change the registry, the configuration or the disk. Bad
 * parameters answer 400, unknown paths 404, other methods 405, all with a JSON {@code {"error": ...}}
 * body. Requests are served by two threads; when both are busy and the queue is full, the accepting
 * thread serves the next request itself, which slows clients down instead of dropping them.
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final String JSON = "application/json; charset=utf-8";
    private static final String ALLOW = "GET, HEAD";
    private static final int THREADS = 2;
    private static final int QUEUE = 64;

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final AgentMetrics metrics;
    private final Registry registry;
    private final Supplier<Config> config;
    private final Supplier<LoopHealth> health;
    private final Clock clock;
    private final Map<String, Route> routes = new HashMap<>();

    /** A GET handler: reads, never writes. */
    private interface Handler {
        Response handle(HttpExchange ex, Map<String, String> query) throws IOException;
    }

    /** A path's handler and the query parameters it takes; any other parameter is refused. */
    private record Route(Set<String> params, Handler handler) {
    }

    private record Response(int status, String contentType, byte[] body) {
        static Response json(int status, Object node) {
            return new Response(status, JSON, (CheckpointJson.write(node) + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A request the API refuses, with the status and the one-line reason the client gets. */
    private static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /**
     * Binds the server (not yet serving: call {@link #start()}).
     *
     * @param address where to listen; port 0 takes a free port ({@link #port()} tells which)
     * @param health  the agent's loops, asked on each {@code /healthz}
     * @throws IOException when the address cannot be bound (in use, not local)
     */
    public HttpApi(InetSocketAddress address, AgentMetrics metrics, Registry registry, Supplier<Config> config,
            Supplier<LoopHealth> health, Clock clock) throws IOException {
        this.metrics = metrics;
        this.registry = registry;
        this.config = config;
        this.health = health;
        this.clock = clock;
        this.server = HttpServer.create(address, 16);
        AtomicInteger n = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(THREADS, THREADS, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE),
                r -> {
                    Thread t = new Thread(r, "ckpt-warden-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        server.setExecutor(executor);
        routes.put("/metrics", new Route(Set.of(), this::metrics));
        routes.put("/healthz", new Route(Set.of(), (ex, q) -> healthz()));
        routes.put("/api/v1/runs", new Route(Set.of("root"), (ex, q) -> runs(q)));
        routes.put("/api/v1/checkpoints", new Route(Set.of("run", "root", "all"), (ex, q) -> checkpoints(q)));
        routes.put("/api/v1/resolve", new Route(Set.of("run", "root", "which", "resumable", "metric", "mode"),
                (ex, q) -> resolve(q)));
        routes.put("/api/v1/plan", new Route(Set.of("root", "run"), (ex, q) -> plan(q)));
        server.createContext("/", this::dispatch);
    }

    /**
     * The socket address for {@code agent.listen} ({@code host:port}, IPv6 hosts in brackets), as the
     * configuration validated it.
     *
     * @throws IllegalArgumentException when the text is not {@code host:port}
     */
    public static InetSocketAddress address(String listen) {
        String t = listen.strip();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            throw new IllegalArgumentException("agent.listen: expected host:port like 127.0.0.1:9847, got '" + listen + "'");
        }
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("agent.listen: the port of '" + listen + "' is not a number");
        }
        return new InetSocketAddress(host, port);
    }

    public void start() {
        server.start();
        log.debug("HTTP API listening on {}", server.getAddress());
    }

    /** The bound address (with the real port when 0 was asked for). */
    public InetSocketAddress boundAddress() {
        return server.getAddress();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void dispatch(HttpExchange ex) throws IOException {
        // A request body is never read: closing the exchange drains a little of it and drops the rest.
        try (ex) {
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getPath();
            boolean head = method.equals("HEAD");
            Route route = routes.get(path);
            Response r;
            if (route == null) {
                r = Response.json(404, error("no such resource: " + path));
            } else if (!head && !method.equals("GET")) {
                ex.getResponseHeaders().set("Allow", ALLOW);
                r = Response.json(405, error("method " + method + " not allowed; this API is read-only (" + ALLOW + ")"));
            } else {
                r = serve(ex, path, route);
            }
            send(ex, r, head);
        }
    }

    private Response serve(HttpExchange ex, String path, Route route) {
        try {
            return route.handler().handle(ex, params(ex.getRequestURI().getRawQuery(), route.params()));
        } catch (ApiError e) {
            return Response.json(e.status, error(e.getMessage()));
        } catch (IOException | RuntimeException e) {
            log.warn("{} failed: {}", path, e.toString(), e);
            return Response.json(500, error(path + " failed: " + e.getMessage()));
        }
    }

    private static void send(HttpExchange ex, Response r, boolean head) throws IOException {
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", r.contentType());
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        if (head || r.body().length == 0) {
            ex.sendResponseHeaders(r.status(), -1);
            return;
        }
        ex.sendResponseHeaders(r.status(), r.body().length);
        ex.getResponseBody().write(r.body());
    }

    private Response metrics(HttpExchange ex, Map<String, String> query) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        String type = metrics.scrape(ex.getRequestHeaders().getFirst("Accept"), out);
        return new Response(200, type, out.toByteArray());
    }

    private Response healthz() {
        LoopHealth h = health.get();
        ObjectNode n = CheckpointJson.MAPPER.createObjectNode();
        List<String> failing = h.failing();
        n.put("status", failing.isEmpty() ? "ok" : "unhealthy");
        if (!failing.isEmpty()) {
            ArrayNode arr = n.putArray("failing");
            failing.forEach(arr::add);
        }
        ObjectNode loops = n.putObject("loops");
        loops.put("watcher", h.watcher());
        loops.put("scheduler", h.scheduler());
        loops.put("reconcile", h.reconcile());
        return Response.json(failing.isEmpty() ? 200 : 503, n);
    }

    private Response runs(Map<String, String> query) {
        List<RunSummary> summaries = RunSummary.of(registry.list(query.get("root"), null, false), config.get());
        ObjectNode out = CheckpointJson.MAPPER.createObjectNode();
        ArrayNode arr = out.putArray("runs");
        for (RunSummary s : summaries) {
            ObjectNode n = arr.addObject();
            n.put("root", s.root());
            n.put("run", s.run());
            ObjectNode counts = n.putObject("checkpoints");
            counts.put("writing", s.writing());
            counts.put("complete", s.complete());
            counts.put("corrupt", s.corrupt());
            counts.put("total", s.total());
            n.put("bytes", s.bytes());
            if (s.latestStep() == null) {
                n.putNull("latest_step");
            } else {
                n.put("latest_step", s.latestStep());
            }
            if (s.lastCheckpoint() == null) {
                n.putNull("last_checkpoint");
            } else {
                n.put("last_checkpoint", s.lastCheckpoint().toString());
            }
            if (s.bestValue() == null) {
                n.putNull("best");
            } else {
                ObjectNode best = n.putObject("best");
                best.put("metric", s.bestMetric());
                best.put("value", s.bestValue());
            }
        }
        return Response.json(200, out);
    }

    private Response checkpoints(Map<String, String> query) {
        String run = required(query, "run");
        boolean all = flag(query, "all");
        List<Checkpoint> list = registry.list(query.get("root"), run, all);
        if (list.isEmpty()) {
            throw new ApiError(404, "no checkpoints registered for run '" + run + "'"
                    + (query.containsKey("root") ? " in root '" + query.get("root") + "'" : ""));
        }
        return Response.json(200, CheckpointJson.list(list));
    }

    private Response resolve(Map<String, String> query) {
        String run = required(query, "run");
        String which = required(query, "which");
        boolean resumable = flag(query, "resumable");
        List<Checkpoint> candidates = registry.list(query.get("root"), run, false);
        if (candidates.isEmpty()) {
            throw new ApiError(404, "no checkpoints registered for run '" + run + "'");
        }
        Set<String> roots = new TreeSet<>();
        candidates.forEach(c -> roots.add(c.root()));
        if (roots.size() > 1) {
            throw new ApiError(400, "run '" + run + "' exists in several roots " + roots + "; pass root");
        }
        String root = roots.iterator().next();
        Optional<Checkpoint> found;
        try {
            found = Resolver.resolve(candidates, which, resumable, bestMetric(query, config.get().root(root), run));
        } catch (Resolver.BadSelector e) {
            throw new ApiError(400, e.getMessage());
        }
        if (found.isEmpty()) {
            throw new ApiError(404, "no complete" + (resumable ? " resumable" : "") + " checkpoint matches '" + which
                    + "' in run '" + run + "'");
        }
        return Response.json(200, CheckpointJson.of(found.get()));
    }

    private static Resolver.Metric bestMetric(Map<String, String> query, RootConfig root, String run) {
        String metric = query.get("metric");
        String mode = query.getOrDefault("mode", "min");
        if (!mode.equals("min") && !mode.equals("max")) {
            throw new ApiError(400, "mode must be min or max, not '" + mode + "'");
        }
        if (metric != null) {
            if (metric.isBlank()) {
                throw new ApiError(400, "metric must not be empty");
            }
            return new Resolver.Metric(metric, mode.equals("min"));
        }
        if (query.containsKey("mode")) {
            throw new ApiError(400, "mode needs metric");
        }
        return Resolver.Metric.of(RetentionPolicy.keepBest(root, run));
    }

    private Response plan(Map<String, String> query) {
        Config cfg = config.get();
        String rootName = query.get("root");
        List<RootConfig> roots;
        if (rootName == null) {
            roots = cfg.roots();
        } else {
            RootConfig r = cfg.root(rootName);
            if (r == null) {
                List<String> names = cfg.roots().stream().map(RootConfig::name).toList();
                throw new ApiError(400, "unknown root '" + rootName + "' (configured: " + String.join(", ", names) + ")");
            }
            roots = List.of(r);
        }
        Instant now = clock.instant();
        PolicyChange change = policyChange(cfg);
        List<Decision> decisions = new ArrayList<>();
        for (RootConfig root : roots) {
            Map<String, List<Checkpoint>> byRun = new LinkedHashMap<>();
            for (Checkpoint c : registry.list(root.name(), query.get("run"), false)) {
                byRun.computeIfAbsent(c.run(), k -> new ArrayList<>()).add(c);
            }
            // A symbolic link is protected; lstat is the only I/O here and it reads no content.
            byRun.forEach((run, list) -> decisions.addAll(change.apply(RetentionPolicy.decide(list,
                    RetentionPolicy.effectiveRetention(root, run), now,
                    c -> !RemoteLocation.isRemote(c.path()) && Files.isSymbolicLink(c.path())), now)));
        }
        return Response.json(200, CheckpointJson.plan(decisions));
    }

    /** The evictions the agent delays after a configuration change, as recorded in state_dir; none when unreadable. */
    private static PolicyChange policyChange(Config cfg) {
        try {
            return PolicyChangeFile.read(cfg.agent().stateDir(), ZoneId.systemDefault());
        } catch (IOException e) {
            log.warn("/api/v1/plan: {}", e.getMessage());
            return PolicyChange.NONE;
        }
    }

    private static ObjectNode error(String message) {
        ObjectNode n = CheckpointJson.MAPPER.createObjectNode();
        n.put("error", message);
        return n;
    }

    private static String required(Map<String, String> query, String name) {
        String v = query.get(name);
        if (v == null || v.isBlank()) {
            throw new ApiError(400, "missing parameter '" + name + "'");
        }
        return v;
    }

    private static boolean flag(Map<String, String> query, String name) {
        String v = query.get(name);
        if (v == null) {
            return false;
        }
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ApiError(400, "parameter '" + name + "' must be true or false, not '" + v + "'");
        };
    }

    /** Decodes a query string; unknown, repeated or undecodable parameters are refused (a typo must not be ignored). */
    static Map<String, String> params(String rawQuery, Set<String> allowed) {
        Map<String, String> out = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return out;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name;
            String value;
            try {
                name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ApiError(400, "malformed query parameter '" + pair + "'");
            }
            if (!allowed.contains(name)) {
                throw new ApiError(400, "unknown parameter '" + name + "'"
                        + (allowed.isEmpty() ? " (this path takes none)" : " (known: " + String.join(", ", new TreeSet<>(allowed)) + ")"));
            }
            if (out.put(name, value) != null) {
                throw new ApiError(400, "parameter '" + name + "' given more than once");
            }
        }
        return out;
    }

    /** Stops accepting, lets requests in progress finish (briefly), and ends the threads. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(2, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
