package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Offload;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.enforce.EnforcementListener;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.Eviction;
import dev.ckptwarden.enforce.TrashBin;
import dev.ckptwarden.enforce.TrashStaging;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TinyCheckpoints;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A local root named {@value #ROOT_NAME} with an offload target, its registry (filled by the real
 * reconciler with the clock past the settle time), an audit log, and an enforcer reaching the target
 * with the given settings. Checkpoints: an HF {@code hf/checkpoint-100/} and {@code checkpoint-200/},
 * Lightning {@code lit/epoch=0-step=10.ckpt}, {@code epoch=1-step=20.ckpt}, {@code epoch=2-step=30.ckpt}.
 */
final class OffloadSite implements AutoCloseable {
    static final String ROOT_NAME = "/data/ckpt";
    static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");

    final Path root;
    final Path state;
    final SqliteRegistry registry;
    final MutableClock clock;
    final AuditLog audit;
    final RootConfig rootConfig;
    final Config config;
    RemoteSettings settings;

    OffloadSite(Path dir, String target, RemoteSettings settings) throws IOException {
        this(dir, target, settings, true);
    }

    /** The site a previous {@link OffloadSite} left in {@code dir} (another process's, say), as it is. */
    static OffloadSite reopen(Path dir, String target, RemoteSettings settings) throws IOException {
        return new OffloadSite(dir, target, settings, false);
    }

    private OffloadSite(Path dir, String target, RemoteSettings settings, boolean populate) throws IOException {
        this.root = Files.createDirectories(dir.resolve("root")).toRealPath();
        this.state = Files.createDirectories(dir.resolve("state"));
        this.registry = SqliteRegistry.open(state);
        this.clock = new MutableClock(T0);
        this.audit = AuditLog.open(state, clock);
        this.settings = settings;
        this.rootConfig = new RootConfig(ROOT_NAME, root.toString(), Layout.AUTO, List.of(),
                new Retention(1, null, null, null), Quota.NONE, DiskWatermark.NONE, Action.OFFLOAD,
                new Offload(target, "sha256"), List.of());
        this.config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)),
                List.of(rootConfig));
        if (!populate) {
            return;
        }
        TinyCheckpoints.huggingFace(root.resolve("hf/checkpoint-100"), 100);
        TinyCheckpoints.huggingFace(root.resolve("hf/checkpoint-200"), 200);
        for (int i = 0; i < 3; i++) {
            TinyCheckpoints.torchZip(root.resolve("lit/epoch=" + i + "-step=" + (i + 1) * 10 + ".ckpt"), i,
                    (long) (i + 1) * 10, true);
        }
        reconcile();
    }

    Path hf100() {
        return root.resolve("hf/checkpoint-100");
    }

    Path lit(int epoch) {
        return root.resolve("lit/epoch=" + epoch + "-step=" + (epoch + 1) * 10 + ".ckpt");
    }

    /**
     * A valid safetensors checkpoint {@code big/model-step=N.safetensors} of about {@code bytes} random
     * bytes, settled and registered: large enough that a transfer takes many writes.
     */
    Path big(int bytes) throws IOException {
        String header = "{\"weight\":{\"dtype\":\"U8\",\"shape\":[" + bytes + "],\"data_offsets\":[0," + bytes + "]}}";
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8 + h.length + bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        byte[] data = new byte[bytes];
        new java.util.Random(bytes).nextBytes(data);
        buf.putLong(h.length).put(h).put(data);
        Path f = Files.createDirectories(root.resolve("big")).resolve("model-step=500.safetensors");
        Files.write(f, buf.array());
        TinyCheckpoints.old(f);
        reconcile();
        return f;
    }

    RootScan reconcile() {
        clock.advance(Duration.ofMinutes(1));
        return new Reconciler(registry, clock).reconcile(config, rootConfig);
    }

    Registered registered(Path p) {
        return registry.byPath(p.toString()).orElseThrow(() -> new AssertionError("not registered: " + p));
    }

    EnforcementReport offload(Path... paths) throws IOException {
        return offload(rootConfig, paths);
    }

    /** As {@link #offload(Path...)} with {@code offload.verify} set to {@code verify}. */
    EnforcementReport offloadVerifying(String verify, Path... paths) throws IOException {
        RootConfig r = rootConfig;
        return offload(new RootConfig(r.name(), r.path(), r.layout(), r.patterns(), r.retention(), r.quota(), r.disk(),
                r.action(), new Offload(r.offload().target(), verify), r.overrides()), paths);
    }

    private EnforcementReport offload(RootConfig rootConfig, Path... paths) throws IOException {
        List<Eviction> evictions = new ArrayList<>();
        for (Path p : paths) {
            evictions.add(new Eviction(registered(p), EvictionCause.POLICY, List.of(Reason.EVICTABLE)));
        }
        return new Enforcer(registry, audit, EnforcementListener.NONE, settings)
                .enforce(rootConfig, root, evictions, false, clock.instant());
    }

    Restorer.Restored restore(Path p) throws IOException {
        try (RemoteFiles remote = RemoteFiles.open(settings)) {
            return new Restorer(registry, remote, clock, TrashStaging::open).restore(config, p.toString());
        }
    }

    List<AuditRecord> auditLines() throws IOException {
        return AuditLog.read(state.resolve(AuditLog.FILE_NAME));
    }

    List<String> events(Path p) {
        return registry.history(p.toString()).stream().map(HistoryEvent::event).toList();
    }

    List<HistoryEvent> history(Path p, String event) {
        return registry.history(p.toString()).stream().filter(h -> h.event().equals(event)).toList();
    }

    /** What the trash holds besides its lock (should be nothing after a pass). */
    List<String> trashLeftovers() throws IOException {
        Path trash = root.resolve(TrashBin.DIR_NAME);
        if (!Files.exists(trash)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(trash)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(".lock")).toList();
        }
    }

    /** Every regular file below {@code dir} (or {@code dir} itself), relative path to its SHA-256. */
    static Map<String, String> files(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        if (Files.isRegularFile(dir)) {
            out.put(dir.getFileName().toString(), sha256(Files.readAllBytes(dir)));
            return out;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), sha256(Files.readAllBytes(p)));
            }
        }
        return out;
    }

    /** Relative path to modification time, for every file and directory below {@code dir}. */
    static Map<String, Long> mtimes(Path dir) throws IOException {
        Map<String, Long> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                out.put(dir.relativize(p).toString(), Files.getLastModifiedTime(p).toMillis());
            }
        }
        return out;
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Override
    public void close() throws IOException {
        audit.close();
        registry.close();
    }
}
