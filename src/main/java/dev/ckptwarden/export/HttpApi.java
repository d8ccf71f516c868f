package dev.ckptwarden.export;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryException;
import dev.ckptwarden.watch.Reconciler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The agent's read-only HTTP API (SPEC "HTTP API") on the JDK's {@link HttpServer}: {@code /metrics},
 * {@code /healthz}, and JSON under {@code /api/v1}. Only GET and HEAD are served: a request cannot
 * change the configuration, the disk or a pin; the only write is {@code resolve} registering what it
 * found in the run directory it looked at (as a reconcile pass would). Bad
 * parameters answer 400, unknown paths 404, other methods 405, all with a JSON {@code {"error": ...}}
 * body. One 400 is not ours: a request line that is not a URI (a malformed escape such as
 * {@code /api/v1/resolve?run=%zz}) is refused by the JDK's server with its own text/html page before
 * any handler runs, and no setting or filter of {@link HttpServer} reaches it; a client that encodes
 * its parameters ({@code %25zz}) gets JSON as always.
 *
 * <p>Slow clients cannot starve {@code /healthz} or {@code /metrics} (issue 14). The JDK server reads
 * a request on a worker thread, so a client that sends one byte and stalls holds a worker: workers are
 * made on demand up to {@value #MAX_THREADS} (and end when idle), a client must have sent its whole
 * request within {@link #MAX_REQUEST_TIME} and read its response within {@link #MAX_RESPONSE_TIME},
 * idle keep-alive connections are closed after {@link #IDLE_TIME}, and the accepting thread never
 * serves a request itself. Beyond {@value #MAX_THREADS} stalled clients at once plus {@value #QUEUE}
 * queued requests, new connections are closed at once, for at most {@link #MAX_REQUEST_TIME}.
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final String JSON = "application/json; charset=utf-8";
    private static final String ALLOW = "GET, HEAD";
    /** A client must have sent its whole request within this time, or it is disconnected. */
    static final java.time.Duration MAX_REQUEST_TIME = java.time.Duration.ofSeconds(10);
    /** A client must have read its whole response within this time (a large /metrics included). */
    static final java.time.Duration MAX_RESPONSE_TIME = java.time.Duration.ofSeconds(30);
    /** A keep-alive connection with no request is closed after this long. */
    static final java.time.Duration IDLE_TIME = java.time.Duration.ofSeconds(30);
    /** Workers at most: each stalled client holds one until {@link #MAX_REQUEST_TIME}. */
    static final int MAX_THREADS = 64;
    private static final int QUEUE = 256;
    /** Open connections at most (file descriptors); the JDK closes the ones beyond at once. */
    private static final int MAX_CONNECTIONS = 1024;

    static {
        // The JDK server reads these once, when its implementation class is first loaded: here, before
        // any HttpServer exists (this class is the only user). A value given with -D on the command line wins.
        setIfAbsent("sun.net.httpserver.maxReqTime", MAX_REQUEST_TIME.toSeconds());
        setIfAbsent("sun.net.httpserver.maxRspTime", MAX_RESPONSE_TIME.toSeconds());
        setIfAbsent("sun.net.httpserver.idleInterval", IDLE_TIME.toSeconds());
        setIfAbsent("sun.net.httpserver.maxIdleConnections", 32);
        setIfAbsent("jdk.httpserver.maxConnections", MAX_CONNECTIONS);
    }

    private static void setIfAbsent(String property, long value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, Long.toString(value));
        }
    }

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final AgentMetrics metrics;
    private final Registry registry;
    private final Supplier<LoopHealth> health;
    private final RegistryHealth registryHealth;
    private final Map<String, Route> routes = new HashMap<>();

    /** A GET handler: reads, never writes. */
    private interface Handler {
        Response handle(HttpExchange ex, Map<String, String> query) throws IOException;
    }

    /** A path's handler and the query parameters it takes; any other parameter is refused. */
    private record Route(Set<String> params, Handler handler) {
    }

    record Response(int status, String contentType, byte[] body) {
        static Response json(int status, Object node) {
            return new Response(status, JSON, (CheckpointJson.write(node) + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A request the API refuses, with the status and the one-line reason the client gets. */
    static final class ApiError extends RuntimeException {
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
     * @param registryHealth whether the registry answers: {@code /healthz} reports it, and while it does
     *                       not, API calls answer 503 at once instead of waiting for the database
     * @param reconciler the agent's reconciler: {@code resolve} looks at the run directory through it
     * @throws IOException when the address cannot be bound (in use, not local)
     */
    public HttpApi(InetSocketAddress address, AgentMetrics metrics, Registry registry, Supplier<Config> config,
            Supplier<LoopHealth> health, RegistryHealth registryHealth, Clock clock, Reconciler reconciler)
            throws IOException {
        this.metrics = metrics;
        RegistryRoutes api = new RegistryRoutes(registry, config, clock, new DiskResolver(registry, reconciler));
        this.registry = registry;
        this.health = health;
        this.registryHealth = registryHealth;
        this.server = HttpServer.create(address, 16);
        AtomicInteger n = new AtomicInteger();
        // Core = max with core threads timing out: a thread per request up to MAX_THREADS, then a queue, and
        // none kept while idle. A full queue is refused (AbortPolicy): the JDK's dispatcher then closes that
        // connection, where running it on the dispatcher (CallerRunsPolicy) let one stalled client stop all.
        this.executor = new ThreadPoolExecutor(MAX_THREADS, MAX_THREADS, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE), r -> {
                    Thread t = new Thread(r, "ckpt-warden-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        executor.allowCoreThreadTimeOut(true);
        server.setExecutor(executor);
        routes.put("/metrics", new Route(Set.of(), this::metrics));
        routes.put("/healthz", new Route(Set.of(), (ex, q) -> healthz()));
        routes.put("/api/v1/runs", new Route(Set.of("root"), (ex, q) -> fromRegistry(() -> api.runs(q))));
        routes.put("/api/v1/checkpoints", new Route(Set.of("run", "root", "all"), (ex, q) -> fromRegistry(() -> api.checkpoints(q))));
        routes.put("/api/v1/resolve", new Route(Set.of("run", "root", "which", "resumable", "metric", "mode"),
                (ex, q) -> fromRegistry(() -> api.resolve(q))));
        routes.put("/api/v1/plan", new Route(Set.of("root", "run"), (ex, q) -> fromRegistry(() -> api.plan(q))));
        server.createContext("/", this::dispatch);
    }

    /**
     * The socket address for {@code agent.listen} ({@code host:port}, IPv6 hosts in brackets), as the
     * configuration validated it.
     *
     * @throws IllegalArgumentException when the text is not {@code host:port}
     */
    public static InetSocketAddress address(String listen) {
        // The configuration's own parser: what check-config accepted is what is bound.
        try {
            dev.ckptwarden.config.ListenAddress a = dev.ckptwarden.config.ListenAddress.parse(listen);
            return new InetSocketAddress(a.host(), a.port());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("agent.listen: " + e.getMessage(), e);
        }
    }

    public void start() {
        server.start();
        log.debug("HTTP API listening on {}", hostPort(server.getAddress()));
    }

    /**
     * {@code 127.0.0.1:9847}, {@code [::1]:9847}: an address as {@code agent.listen} writes it
     * ({@link InetSocketAddress#toString()} gives {@code /127.0.0.1:9847}).
     */
    public static String hostPort(InetSocketAddress address) {
        String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
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
            return route.handler().handle(ex, QueryParams.parse(ex.getRequestURI().getRawQuery(), route.params()));
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
        List<String> failing = failing(h);
        n.put("status", failing.isEmpty() ? "ok" : "unhealthy");
        if (!failing.isEmpty()) {
            // Like every other error status, a 503 carries one "error" line (a client reads only that).
            n.put("error", "unhealthy: " + String.join(", ", failing));
            ArrayNode arr = n.putArray("failing");
            failing.forEach(arr::add);
        }
        ObjectNode loops = n.putObject("loops");
        loops.put("watcher", h.watcher());
        loops.put("scheduler", h.scheduler());
        loops.put("reconcile", h.reconcile());
        ObjectNode reg = n.putObject("registry");
        reg.put("up", registryHealth.up());
        // The registry was lost or replaced: nothing is deleted until the user starts fresh (the log says why).
        reg.put("deletions_held", registry instanceof dev.ckptwarden.registry.JournaledRegistry j && j.held());
        Instant since = registryHealth.downSince();
        if (since != null) {
            reg.put("down_since", since.toString());
            reg.put("error", registryHealth.problem());
        }
        return Response.json(failing.isEmpty() ? 200 : 503, n);
    }

    /** What {@code /healthz} reports failing: the loops that are not alive, then the registry if it does not answer. */
    private List<String> failing(LoopHealth h) {
        List<String> out = new ArrayList<>(h.failing());
        if (!registryHealth.up()) {
            out.add("registry");
        }
        return out;
    }

    /** A read of the registry. While the registry is known to be down: 503 at once, naming it. */
    private Response fromRegistry(Supplier<Response> read) {
        if (!registryHealth.up()) {
            throw new ApiError(503, "registry unavailable: " + registryHealth.problem());
        }
        try {
            return read.get();
        } catch (RegistryException e) {
            // The first to notice an outage waits for the database's timeout; later calls get their 503 at once.
            if (registryHealth.failed(e)) {
                throw new ApiError(503, "registry unavailable: " + e.getMessage());
            }
            throw e;
        }
    }

    private static ObjectNode error(String message) {
        ObjectNode n = CheckpointJson.MAPPER.createObjectNode();
        n.put("error", message);
        return n;
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
