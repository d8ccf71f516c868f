package dev.ckptwarden.daemon;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DurationText;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.PolicyChangeGrace;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.export.FilesystemForecast;
import dev.ckptwarden.export.HttpApi;
import dev.ckptwarden.export.LoopHealth;
import dev.ckptwarden.export.RegistryHealth;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryException;
import dev.ckptwarden.watch.DirectoryWatcher;
import dev.ckptwarden.watch.Reconciler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The running agent: an initial pass, then a periodic full pass, watch events that bring a pass
 * sooner (coalesced: {@link WatchEvents}), settle timers that look again at checkpoints still settling
 * ({@link Settling}), configuration reloads ({@link ConfigReload}) and, in cluster mode, lease renewal
 * ({@link LeaseJob}). A pass is a reconcile step ({@link ReconcileJob}) then an enforcement step
 * ({@link EnforceJob}), from one configuration snapshot and one {@code clock.instant()}, and never lets
 * an exception end the schedule. The agent owns and closes every thread it starts: the schedule, the
 * watchers and the HTTP server.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    /** While the registry does not answer, how often it is asked again (a full pass follows its return). */
    static final Duration REGISTRY_RETRY = Duration.ofSeconds(5);
    /**
     * Cluster mode: when the lease holder's pass found a root's trash held by another pass (the previous
     * holder's last batch), how soon it runs again at first: the other one ends within a batch or so.
     */
    static final Duration TRASH_BUSY_RETRY = Duration.ofSeconds(2);
    /** How long a reload request waits for more: an editor's save bursts are one reload. */
    static final Duration RELOAD_COALESCE = WatchEvents.COALESCE;

    private final AtomicReference<Config> config;
    private final Registry registry;
    private final Clock clock;
    private final Reconciler reconciler;
    private final PassSchedule schedule;
    private final DirectoryWatcher watcher;
    private final WatchEvents events;
    private final Settling settling = new Settling();
    private final ReconcileJob reconcile;
    private final EnforceJob enforce;
    private final ConfigReload reloads;
    private final Path configFile;
    private ConfigFileWatcher configWatcher;
    private final Enforcer enforcer;
    private final AgentMetrics metrics;
    private HttpApi http;
    private volatile Instant lastPass;
    /** The reason of the reload asked for and not yet run; null when none is pending. */
    private final AtomicReference<ReloadReason> reloadPending = new AtomicReference<>();
    /** Cluster mode: only the holder of this lease deletes; null for a single agent. */
    private volatile Lease lease;
    /** Cluster mode: takes and renews {@link #lease}; null for a single agent. */
    private volatile LeaseJob leaseJob;
    /** Cluster mode: the lease was just taken, so the trash a previous holder left is to be recovered. */
    private volatile boolean recoveryPending;
    /** How soon the next takeover pass runs after this one found a trash busy; doubles while it stays busy. */
    private Duration busyRetry = TRASH_BUSY_RETRY;
    /** The schedule runs passes: set by {@link #start()} once the startup pass is done. */
    private volatile boolean scheduling;
    private final RegistryHealth registryHealth;
    /** A registry probe is scheduled: one chain of probes during an outage, however many passes fail. */
    private final AtomicBoolean probePending = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * @param configFile the file the configuration came from, watched and re-read on change and SIGHUP;
     *                   null for a configuration built in code (no reload)
     */
    public Agent(Config config, Path configFile, Map<String, String> env, Registry registry, Enforcer enforcer,
                 AgentMetrics metrics, Clock clock) throws IOException {
        this(config, configFile, env, registry, enforcer, metrics, clock, passes -> new QuartzPassSchedule(passes, clock));
    }

    /** With the schedule {@code schedules} makes from the agent's pass runner (tests: one that records). */
    Agent(Config config, Path configFile, Map<String, String> env, Registry registry, Enforcer enforcer,
          AgentMetrics metrics, Clock clock, ScheduleFactory schedules) throws IOException {
        this.config = new AtomicReference<>(config);
        this.enforcer = enforcer;
        this.metrics = metrics;
        this.configFile = configFile;
        this.registry = registry;
        this.clock = clock;
        this.reconciler = new Reconciler(registry, clock);
        reconciler.keepRootDevicesIn(config.agent().stateDir());
        this.schedule = schedules.open(this::run);
        this.events = new WatchEvents(clock, schedule);
        this.watcher = new DirectoryWatcher(events::dirty);
        metrics.bindWatcher(watcher::events, watcher::overflows);
        this.reconcile = new ReconcileJob(reconciler, watcher);
        this.enforce = new EnforceJob(enforcer, metrics, reconciler,
                new PolicyChangeGrace(config.agent().stateDir(), ZoneId.systemDefault()));
        this.reloads = new ConfigReload(configFile, env, this.config, metrics, watcher, schedule);
        // Whoever notices an outage first (a pass, lease renewal, an API call), probes follow until it ends.
        this.registryHealth = new RegistryHealth(clock, this::probeRegistrySoon);
        metrics.bindRegistry(registryHealth);
    }

    /** Makes the agent's schedule, given what runs one pass. */
    @FunctionalInterface
    interface ScheduleFactory {
        PassSchedule open(Consumer<PassKind> passes) throws IOException;
    }

    /**
     * Cluster mode: only the holder of {@code lease} deletes. The lease is taken before the first pass and
     * renewed on the schedule every {@code agent.lease_renewal}; the enforcer asks the database before each
     * batch whether it is still held with the same token. Call before {@link #start()}.
     */
    public void coordinateWith(Lease lease) {
        this.lease = Objects.requireNonNull(lease, "lease");
        this.leaseJob = new LeaseJob(lease, registryHealth, this::leaseTaken);
        enforcer.guardWith(lease::checkHeld);
        metrics.bindLease(lease::held);
    }

    /** Takes or renews the lease; never throws. */
    void renewLease() {
        LeaseJob job = leaseJob;
        if (job != null) {
            job.run();
        }
    }

    /**
     * Taken over (or taken at start): a holder that crashed may have left evictions half done in the
     * trash; the next pass finishes them before this agent deletes anything itself.
     */
    private void leaseTaken() {
        recoveryPending = true;
        if (scheduling) {
            // That pass runs now, not at the next periodic one: deleting is this agent's job from here on.
            // (At start the startup pass follows anyway.)
            schedule.once(PassKind.TAKEOVER, clock.instant());
        }
    }

    public void start() throws IOException {
        Config cfg = config.get();
        renewLease();
        // Watch, then walk: every local root is watched before the startup pass lists it, so a save made while
        // the agent starts is heard and looked at by an event pass (registered after the walk, it went unseen
        // until the next periodic pass). The registration (one round trip to the JDK's watch-service thread per
        // directory) runs on a thread of its own while the HTTP server starts.
        CompletableFuture<Void> watching = CompletableFuture.runAsync(() -> reconcile.watchRoots(cfg),
                task -> new Thread(task, "ckpt-warden-watch-setup").start());
        try {
            // Up before the first pass: /healthz answers 503 ("reconcile") until that pass is done.
            try {
                http = new HttpApi(HttpApi.address(cfg.agent().listen()), metrics, registry, config::get, this::loopHealth,
                        registryHealth, clock, reconciler);
            } catch (IOException e) {
                throw new IOException("cannot listen on " + cfg.agent().listen() + " (agent.listen): " + e.getMessage(), e);
            }
            http.start();
            log.info("serving /metrics, /healthz and /api/v1 on {}", HttpApi.hostPort(http.boundAddress()));
        } finally {
            watching.join();
        }
        watcher.start(); // events heard during the startup pass queue an event pass for when the schedule starts
        run(PassKind.STARTUP);
        if (configFile != null) {
            configWatcher = new ConfigFileWatcher(configFile, () -> requestReload(ReloadReason.FILE_CHANGED));
            configWatcher.start();
        }
        schedule.every(cfg.agent().reconcileInterval());
        Lease l = lease;
        if (l != null) {
            // agent.lease_renewal (checked to be at most half of agent.lease_time); read at start, as the lease is.
            schedule.renewEvery(Duration.ofMillis(Math.min(cfg.agent().leaseRenewal().toMillis(), l.ttl().toMillis() / 2)),
                    leaseJob);
        }
        // The filesystem-full forecast reads the registry's history: READY (the registry is current) does not wait for it.
        schedule.once(PassKind.FORECAST, clock.instant());
        scheduling = true;
        try {
            schedule.start();
        } catch (IllegalStateException e) {
            throw new IOException(e.getMessage(), e);
        }
        log.info("agent started: {} root(s), full reconcile every {}, settle time {}", cfg.roots().size(),
                DurationText.format(cfg.agent().reconcileInterval()), DurationText.format(cfg.agent().settleTime()));
    }

    /** Asks for the configuration file to be re-read soon (file change, SIGHUP); bursts coalesce into one reload. */
    public void requestReload(ReloadReason why) {
        if (configFile != null && reloadPending.compareAndSet(null, why)
                && !schedule.once(PassKind.RELOAD, clock.instant().plus(RELOAD_COALESCE))) {
            reloadPending.set(null);
        }
    }

    /**
     * Runs one pass of {@code kind} now, on the caller's thread; the schedule calls it, and so do tests.
     * A reload pass first re-reads the configuration when a reload was asked for; a registry probe runs a
     * full pass only once the registry answers again. Never throws.
     */
    void run(PassKind kind) {
        switch (kind) {
            case RELOAD -> {
                ReloadReason why = reloadPending.getAndSet(null);
                if (why != null) {
                    reload(why);
                }
                pass(kind);
            }
            case REGISTRY_PROBE -> {
                probePending.set(false);
                if (registryHealth.probe(registry)) {
                    pass(PassKind.PERIODIC); // back: a full pass catches up with what changed during the outage
                } else {
                    probeRegistrySoon();
                }
            }
            case FORECAST -> forecast(config.get(), clock.instant());
            default -> pass(kind);
        }
    }

    /** Updates the filesystem-full forecast gauges from the registry's history. Never throws. */
    private void forecast(Config cfg, Instant now) {
        try {
            for (FilesystemForecast f : FilesystemForecast.compute(cfg, registry, now)) {
                metrics.setFullForecast(f.mount(), f.fullInSeconds() == null ? Double.POSITIVE_INFINITY : f.fullInSeconds());
            }
        } catch (RegistryException e) {
            if (!registryHealth.failed(e)) {
                log.error("filesystem forecast failed: {}", e.getMessage()); // one line a user acts on
            }
        } catch (RuntimeException e) {
            log.error("filesystem forecast failed: {}", e.toString(), e);
        }
    }

    /** Re-reads the configuration file now ({@link ConfigReload}). @return true when the new one is in force */
    public boolean reload(ReloadReason why) {
        return reloads.reload(why);
    }

    /** False after a rejected reload, until the next valid one. */
    public boolean lastReloadSuccessful() {
        return reloads.lastSuccessful();
    }

    /** One pass over every root (or where events or settling point). Never throws: the next pass runs as planned. */
    private void pass(PassKind kind) {
        Instant now = clock.instant();
        Map<String, Set<Path>> scopes = kind == PassKind.EVENT ? events.take(now)
                : kind == PassKind.SETTLE ? settling.take(now) : null;
        if (kind == PassKind.SETTLE && scopes.isEmpty()) {
            return; // this timer's directories were looked at by a pass since: nothing is due
        }
        Config cfg = config.get();
        long started = System.nanoTime();
        try {
            ReconcileJob.Reconciled found = reconcile.run(cfg, kind, scopes, now);
            boolean recoveryBusy = false;
            if (lease == null ? kind == PassKind.STARTUP : recoveryPending && lease.held()) {
                recoveryPending = false;
                recoveryBusy = !enforce.recover(found.local(), found.reached(), now);
            }
            for (Instant due : settling.update(found.settling())) {
                schedule.once(PassKind.SETTLE, due);
            }
            Map<String, Set<Path>> evicted = enforce.run(cfg, found.enforced(), found.reached(), found.scans(),
                    lease == null || lease.held(), now);
            if (lease != null && (recoveryBusy || enforce.trashBusy()) && lease.held()) {
                // The previous holder's last pass still holds a trash: go on when it has ended, not at the
                // next periodic pass (minutes with what it left in the trash unfinished and nothing deleted).
                // A holder that does not let go (stopped, not dead) is asked less and less often: each retry
                // is a full pass, and waiting for it must not walk a large tree every two seconds.
                recoveryPending |= recoveryBusy;
                schedule.once(PassKind.TAKEOVER, now.plus(busyRetry));
                Duration next = busyRetry.multipliedBy(2);
                busyRetry = next.compareTo(cfg.agent().reconcileInterval()) < 0 ? next : cfg.agent().reconcileInterval();
            } else {
                busyRetry = TRASH_BUSY_RETRY;
            }
            metrics.updateFromRuns(cfg, enforce.runsAfterEnforcement(cfg, found.runs(), evicted));
            metrics.recordReconcile(Duration.ofNanos(System.nanoTime() - started));
            if (kind.forecasts()) {
                forecast(cfg, now);
            }
            lastPass = now;
            if (kind == PassKind.EVENT) {
                events.passTook(Duration.ofNanos(System.nanoTime() - started));
            }
            log.debug("pass ({}) done in {} ms", kind.word(), (System.nanoTime() - started) / 1_000_000);
        } catch (RuntimeException e) {
            if (e instanceof RegistryException r && registryHealth.failed(r)) {
                // An outage, logged once: the loop is alive (the pass ran), the registry is what failed.
                lastPass = now;
                return;
            }
            if (e instanceof RegistryException) {
                // Its message is the one line a user acts on (a full disk, a locked database): no stack trace.
                log.error("reconcile pass ({}) failed: {}", kind.word(), e.getMessage());
            } else {
                log.error("reconcile pass ({}) failed: {}", kind.word(), e.toString(), e);
            }
        }
    }

    /** Asks the registry again in {@link #REGISTRY_RETRY}, unless a probe is already due. */
    private void probeRegistrySoon() {
        if (probePending.compareAndSet(false, true)
                && !schedule.once(PassKind.REGISTRY_PROBE, clock.instant().plus(REGISTRY_RETRY))) {
            probePending.set(false);
        }
    }

    /** Whether the registry answers: {@code /healthz}, {@code ckpt_warden_registry_up} and the API read it. */
    public RegistryHealth registryHealth() {
        return registryHealth;
    }

    /** Which of the agent's loops are alive: the watcher thread, the schedule, and a recent pass. */
    public LoopHealth loopHealth() {
        Instant last = lastPass;
        Duration every = config.get().agent().reconcileInterval();
        boolean recent = last != null
                && Duration.between(last, clock.instant()).compareTo(every.multipliedBy(2).plusMinutes(1)) < 0;
        return new LoopHealth(watcher.alive(), schedule.running(), recent);
    }

    /** True while every loop is alive. */
    public boolean healthy() {
        return loopHealth().failing().isEmpty();
    }

    /** A watch event in {@code where} under {@code root} (null: anywhere in it). */
    void dirty(String root, Path where) {
        events.dirty(root, where);
    }

    /** Roots whose quota or free-space watermark cannot currently be met. */
    public Set<String> pressureUnresolved() {
        return enforce.pressureUnresolved();
    }

    public Registry registry() {
        return registry;
    }

    public Config config() {
        return config.get();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (http != null) {
            http.close();
        }
        // A pass in progress finishes the batch it is in (never stops mid-rename) and starts no other:
        // a long offload pass must not hold a stop for minutes.
        enforcer.stop();
        schedule.close(); // waits for the pass in progress to end
        reconciler.close(); // its header-reading threads; no pass runs any more
        if (lease != null) {
            lease.release(); // another agent takes over at its next renewal, not after the lease time
        }
        try {
            watcher.close();
            if (configWatcher != null) {
                configWatcher.close();
            }
        } catch (IOException e) {
            log.debug("watcher close: {}", e.getMessage());
        }
        log.info("stopped");
    }
}
