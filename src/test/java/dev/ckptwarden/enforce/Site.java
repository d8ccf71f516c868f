package dev.ckptwarden.enforce;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A root on disk with its registry (filled by the real reconciler, clock moved by hand past the
 * settle time), an audit log in the state directory, and an enforcer over them.
 */
final class Site implements AutoCloseable {
    static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    static final Retention KEEP_LAST_1 = new Retention(1, null, null, null);

    final Path root;
    final Path state;
    final SqliteRegistry registry;
    final MutableClock clock;
    final AuditLog audit;
    RootConfig rootConfig;
    Config config;

    Site(Path root, Path state) throws IOException {
        this.root = root.toRealPath();
        this.state = state;
        this.registry = SqliteRegistry.open(state);
        this.clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        this.audit = AuditLog.open(state, clock);
        configure(Action.DELETE, KEEP_LAST_1);
    }

    void configure(Action action, Retention retention) {
        rootConfig = new RootConfig("data", this.root.toString(), Layout.AUTO, List.of(), retention, Quota.NONE,
                DiskWatermark.NONE, action, null, List.of());
        config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)),
                List.of(rootConfig));
    }

    RootScan reconcile() {
        return new Reconciler(registry, clock).reconcile(config, rootConfig);
    }

    Registered registered(Path p) {
        return registry.byPath(p.toString()).orElseThrow(() -> new AssertionError("not registered: " + p));
    }

    Eviction eviction(Path p) {
        return new Eviction(registered(p), EvictionCause.POLICY, List.of(Reason.EVICTABLE));
    }

    Enforcer enforcer() {
        return new Enforcer(registry, audit);
    }

    EnforcementReport enforce(boolean dryRun, Eviction... evictions) throws IOException {
        return enforcer().enforce(rootConfig, root, List.of(evictions), dryRun, clock.instant());
    }

    EnforcementReport.Item enforceOne(Eviction e) throws IOException {
        EnforcementReport r = enforce(false, e);
        return r.items().get(0);
    }

    List<AuditRecord> auditLines() throws IOException {
        return AuditLog.read(state.resolve(AuditLog.FILE_NAME));
    }

    @Override
    public void close() throws IOException {
        audit.close();
        registry.close();
    }
}
