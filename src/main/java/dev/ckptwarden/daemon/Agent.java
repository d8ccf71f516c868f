package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigException;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.config.DurationText;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementBusyException;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.Eviction;
import dev.ckptwarden.enforce.EvictionPlan;
import dev.ckptwarden.enforce.OffloadShortfall;
import dev.ckptwarden.enforce.PolicyChangeGrace;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.export.FilesystemForecast;
import dev.ckptwarden.export.HttpApi;
import dev.ckptwarden.export.LoopHealth;
import dev.ckptwarden.export.RegistryHealth;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryException;
import dev.ckptwarden.watch.DirectoryWatcher;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.SimpleScheduleBuilder;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.quartz.impl.StdSchedulerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The running agent: an initial reconcile, then a periodic full reconcile (Quartz), watch events
 * that bring a reconcile sooner (coalesced: at most one pending), and settle timers that re-check a
 * checkpoint when its settle time has passed. Each sweep works from one configuration snapshot and
 * one {@code clock.instant()}, and never lets an exception end the schedule.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    private static final JobKey JOB = JobKey.jobKey("reconcile");
    private static final TriggerKey PERIODIC = TriggerKey.triggerKey("periodic");
    private static final JobKey LEASE_JOB = JobKey.jobKey("lease");
    private static final String RELOAD_PREFIX = "reload-";
    /** Agents made in this JVM: each names its own Quartz scheduler. */
    private static final java.util.concurrent.atomic.AtomicInteger AGENTS = new java.util.concurrent.atomic.AtomicInteger();
    private static final String REGISTRY_PROBE = "registry-probe";
    /** While the registry does not answer, how often it is asked again (a full pass follows its return). */
    static final Duration REGISTRY_RETRY = Duration.ofSeconds(5);
    /**
     * The longest that events after a pass wait for the next one: events within the window share one
     * pass (a 1,000-shard save is a few passes, not 1,000).
     */
    static final Duration COALESCE = Duration.ofMillis(300);
    /** The shortest such wait: after a quick pass, the next save is looked at almost at once. */
    static final Duration COALESCE_MIN = Duration.ofMillis(20);

    private final AtomicReference<Config> config;
    private final Registry registry;
    private final Clock clock;
    private final Reconciler reconciler;
    private final Scheduler scheduler;
    private final DirectoryWatcher watcher;
    private final AtomicBoolean soonPending = new AtomicBoolean();
    private final AtomicBoolean reloadPending = new AtomicBoolean();
    private final Path configFile;
    private final Map<String, String> env;
    private ConfigFileWatcher configWatcher;
    private final Enforcer enforcer;
    private final AgentMetrics metrics;
    /** Policy evictions a reload brought wait {@code agent.policy_change_grace}. */
    private final PolicyChangeGrace policyChange;
    private HttpApi http;
    /** Roots whose pressure could not be relieved, so that the error is logged once per episode. */
    private final Set<String> unresolved = new TreeSet<>();
    /** Roots in a pressure episode (evicting for quota or free space, or unable to), so that it is logged once. */
    private final Set<String> underPressure = new TreeSet<>();
    private volatile Instant lastSweep;
    private volatile boolean lastReloadSuccessful = true;
    /** Where watch events happened since the last event pass, per root (guarded by itself). */
    private final Map<String, Set<Path>> changed = new java.util.HashMap<>();
    /** Roots where anything may have changed (the kernel's event queue overflowed): a full pass. */
    private final Set<String> changedAnywhere = new java.util.HashSet<>();
    /** Per root, the directories of checkpoints that were still settling after the last pass. */
    private volatile Map<String, Set<Path>> settling = Map.of();
    private volatile Duration lastEventPassTook = Duration.ZERO;
    private volatile long startupCheckpoints;
    /** Cluster mode: only the holder of this lease deletes; null for a single agent. */
    private volatile Lease lease;
    /** Cluster mode: the lease was just taken, so the trash a previous holder left is to be recovered. */
    private volatile boolean recoveryPending;
    /** The scheduler runs passes: set by {@link #start()} once the startup pass is done. */
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
                 AgentMetrics metrics, Clock clock) throws IOException, SchedulerException {
        this.config = new AtomicReference<>(config);
        this.enforcer = enforcer;
        this.metrics = metrics;
        this.configFile = configFile;
        this.env = env;
        this.registry = registry;
        this.clock = clock;
        this.reconciler = new Reconciler(registry, clock);
        this.policyChange = new PolicyChangeGrace(config.agent().stateDir(), ZoneId.systemDefault());
        Properties p = new Properties();
        // Quartz shares a scheduler by name within a JVM: each agent needs its own (two in one JVM, as in tests of
        // cluster mode, would otherwise run each other's jobs and stop each other's scheduler).
        int n = AGENTS.incrementAndGet();
        p.setProperty(StdSchedulerFactory.PROP_SCHED_INSTANCE_NAME, n == 1 ? "ckpt-warden" : "ckpt-warden-" + n);
        p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
        // Two threads: lease renewal must not wait behind a long pass (reconcile passes never overlap anyway).
        p.setProperty("org.quartz.threadPool.threadCount", "2");
        p.setProperty("org.quartz.jobStore.class", "org.quartz.simpl.RAMJobStore");
        // A trigger is "misfired" when it could not run on time (the pass before it ran long, the host slept).
        p.setProperty("org.quartz.jobStore.misfireThreshold", "1000");
        this.scheduler = new StdSchedulerFactory(p).getScheduler();
        this.scheduler.getContext().put(ReconcileJob.AGENT_KEY, this);
        // The job exists from the start so that a reload requested during the startup pass (SIGHUP from
        // `systemctl reload`) is queued rather than lost.
        JobDetail job = JobBuilder.newJob(ReconcileJob.class).withIdentity(JOB).storeDurably().build();
        this.scheduler.addJob(job, true);
        this.watcher = new DirectoryWatcher(this::dirty);
        metrics.bindWatcher(watcher::events, watcher::overflows);
        // Whoever notices an outage first (a pass, lease renewal, an API call), probes follow until it ends.
        this.registryHealth = new RegistryHealth(clock, this::probeRegistrySoon);
        metrics.bindRegistry(registryHealth);
    }

    /**
     * Cluster mode: only the holder of {@code lease} deletes. The lease is taken before the first pass and
     * renewed on the scheduler every {@code agent.lease_renewal}; the enforcer asks the database before each
     * batch whether it is still held with the same token. Call before {@link #start()}.
     */
    public void coordinateWith(Lease lease) {
        this.lease = Objects.requireNonNull(lease, "lease");
        enforcer.guardWith(lease::checkHeld);
        metrics.bindLease(lease::held);
    }

    /** Takes or renews the lease; never throws (the scheduler calls it). */
    void renewLease() {
        Lease l = lease;
        if (l == null) {
            return;
        }
        try {
            boolean before = l.held();
            boolean held = l.acquire();
            registryHealth.succeeded();
            if (held && !before) {
                // Taken over (or taken at start): a holder that crashed may have left evictions half done in
                // the trash; the next pass finishes them before this agent deletes anything itself.
                recoveryPending = true;
                if (scheduling) {
                    // That pass runs now, not at the next periodic one: deleting is this agent's job from here on.
                    // (At start the startup pass follows anyway.)
                    scheduleOnce("takeover", clock.instant());
                }
            }
        } catch (RuntimeException e) {
            if (e instanceof RegistryException r && registryHealth.failed(r)) {
                return; // an outage: logged once by the registry health, not at every renewal
            }
            log.warn("lease {}: renewal failed, this agent does not delete until it succeeds: {}", l.name(),
                    e.getMessage());
        }
    }

    public void start() throws SchedulerException, IOException {
        Config cfg = config.get();
        renewLease();
        // Up before the first pass: /healthz answers 503 ("reconcile") until that pass is done.
        try {
            http = new HttpApi(HttpApi.address(cfg.agent().listen()), metrics, registry, config::get, this::loopHealth,
                    registryHealth, clock, reconciler);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + cfg.agent().listen() + " (agent.listen): " + e.getMessage(), e);
        }
        http.start();
        log.info("serving /metrics, /healthz and /api/v1 on {}", HttpApi.hostPort(http.boundAddress()));
        sweep("startup");
        if (startupCheckpoints > 10_000) {
            // The first pass over a large tree leaves most of what it allocated in the old generation. Full
            // collections now let the heap shrink back (the launcher's MaxHeapFreeRatio) instead of keeping
            // that memory resident: the serial collector shrinks by 0, 10, 40, then 100 % of the excess on
            // successive collections, hence four (~0.1 s each at 100,000 checkpoints).
            for (int i = 0; i < 4; i++) {
                System.gc();
            }
        }
        for (RootConfig r : cfg.roots()) {
            if (r.isLocal()) {
                try {
                    Reconciler.localPath(r).toRealPath(); // there? (watched as configured: events name paths as scan does)
                    int n = watcher.watchRoot(r.name(), Reconciler.localPath(r));
                    log.info("watching root {} ({} directories)", r.name(), n);
                } catch (IOException e) {
                    log.warn("root {} cannot be watched ({}); the periodic reconcile will pick it up when it appears",
                            r.name(), e.getMessage());
                }
            }
        }
        watcher.start();
        if (configFile != null) {
            configWatcher = new ConfigFileWatcher(configFile, () -> requestReload("file changed"));
            configWatcher.start();
        }
        schedulePeriodic(cfg.agent().reconcileInterval());
        if (lease != null) {
            // agent.lease_renewal (checked to be at most half of agent.lease_time); read at start, as the lease is.
            long every = Math.max(1, Math.min(cfg.agent().leaseRenewal().toMillis(), lease.ttl().toMillis() / 2));
            scheduler.scheduleJob(JobBuilder.newJob(LeaseRenewalJob.class).withIdentity(LEASE_JOB).build(),
                    TriggerBuilder.newTrigger().withIdentity("lease-renewal").startAt(Date.from(clock.instant().plusMillis(every)))
                            .withSchedule(SimpleScheduleBuilder.simpleSchedule().withIntervalInMilliseconds(every)
                                    .repeatForever().withMisfireHandlingInstructionNextWithRemainingCount())
                            .build());
        }
        scheduling = true;
        scheduler.start();
        log.info("agent started: {} root(s), full reconcile every {}, settle time {}", cfg.roots().size(),
                DurationText.format(cfg.agent().reconcileInterval()), DurationText.format(cfg.agent().settleTime()));
    }

    private void schedulePeriodic(Duration every) throws SchedulerException {
        // Missed periodic passes are not replayed: the next one is a full reconcile anyway.
        Trigger periodic = TriggerBuilder.newTrigger().withIdentity(PERIODIC).forJob(JOB)
                .startAt(Date.from(clock.instant().plus(every)))
                .withSchedule(SimpleScheduleBuilder.simpleSchedule().withIntervalInMilliseconds(every.toMillis())
                        .repeatForever().withMisfireHandlingInstructionNextWithRemainingCount())
                .build();
        if (scheduler.checkExists(PERIODIC)) {
            scheduler.rescheduleJob(PERIODIC, periodic);
        } else {
            scheduler.scheduleJob(periodic);
        }
    }

    /** Asks for the configuration file to be re-read soon (file change, SIGHUP); bursts coalesce into one reload. */
    public void requestReload(String why) {
        if (configFile != null && reloadPending.compareAndSet(false, true)) {
            scheduleOnce(RELOAD_PREFIX + why.replace(' ', '_'), clock.instant().plus(COALESCE));
        }
    }

    /** The trigger that fired decides what the pass does. */
    void onTrigger(String triggerName) {
        if (triggerName.startsWith(RELOAD_PREFIX)) {
            reloadPending.set(false);
            String why = triggerName.substring(RELOAD_PREFIX.length());
            int at = why.indexOf('@');
            reload((at < 0 ? why : why.substring(0, at)).replace('_', ' '));
            sweep("reload");
        } else if (triggerName.startsWith(REGISTRY_PROBE)) {
            probePending.set(false);
            if (registryHealth.probe(registry)) {
                sweep("periodic"); // back: a full pass catches up with what changed during the outage
            } else {
                probeRegistrySoon();
            }
        } else {
            sweep(triggerName);
        }
    }

    /**
     * Re-reads and fully validates the configuration file. An invalid edit is rejected with every error
     * (file, line, key), the previous configuration stays in force, and the reload metric goes to 0.
     *
     * @return true when the new configuration is now in force
     */
    public boolean reload(String why) {
        Config next = null;
        try {
            next = ConfigLoader.load(configFile, env);
        } catch (ConfigException e) {
            log.error("configuration reload ({}) rejected; the previous configuration stays in force:\n{}", why,
                    e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            // The stack unwinds to here; nothing of the new file was applied.
            log.error("configuration reload ({}) failed; the previous configuration stays in force: {}", why, e.toString());
        } finally {
            // Every way a reload can end without a new configuration counts as a failure, Errors included.
            if (next == null) {
                lastReloadSuccessful = false;
                metrics.setConfigReloadSuccessful(false);
            }
        }
        if (next == null) {
            return false;
        }
        Config prev = config.getAndSet(next);
        lastReloadSuccessful = true;
        metrics.setConfigReloadSuccessful(true);
        Set<String> before = new TreeSet<>();
        prev.roots().forEach(r -> before.add(r.name()));
        Set<String> after = new TreeSet<>();
        next.roots().forEach(r -> after.add(r.name()));
        for (String gone : before) {
            RootConfig p = prev.root(gone);
            RootConfig n = next.root(gone);
            if (n == null || !n.path().equals(p.path())) {
                watcher.unwatchRoot(gone);
                log.info("root {} no longer configured; stopped watching it", gone);
            }
        }
        for (RootConfig r : next.roots()) {
            RootConfig p = prev.root(r.name());
            if (r.isLocal() && (p == null || !p.path().equals(r.path()))) {
                try {
                    Reconciler.localPath(r).toRealPath(); // there? (watched as configured, as scan reports)
                    int n = watcher.watchRoot(r.name(), Reconciler.localPath(r));
                    log.info("root {} added; watching {} directories", r.name(), n);
                } catch (IOException e) {
                    log.warn("root {} added but cannot be watched ({}); the periodic reconcile covers it", r.name(),
                            e.getMessage());
                }
            }
        }
        if (!prev.agent().reconcileInterval().equals(next.agent().reconcileInterval())) {
            try {
                schedulePeriodic(next.agent().reconcileInterval());
            } catch (SchedulerException e) {
                log.warn("cannot reschedule the periodic reconcile: {}", e.getMessage());
            }
        }
        if (!Objects.equals(prev.agent().stateDir(), next.agent().stateDir())
                || !Objects.equals(prev.agent().listen(), next.agent().listen())
                || !Objects.equals(prev.agent().registryUrl(), next.agent().registryUrl())) {
            log.warn("agent.state_dir, agent.listen and agent.registry_url take effect after a restart");
        }
        log.info("configuration reloaded ({}): {} root(s)", why, next.roots().size());
        return true;
    }

    /** False after a rejected reload, until the next valid one. */
    public boolean lastReloadSuccessful() {
        return lastReloadSuccessful;
    }

    /** Which of the agent's loops are alive: the watcher thread, the scheduler, and a recent reconcile pass. */
    public LoopHealth loopHealth() {
        boolean schedulerUp;
        try {
            schedulerUp = scheduler.isStarted() && !scheduler.isShutdown();
        } catch (SchedulerException e) {
            schedulerUp = false;
        }
        Instant last = lastSweep;
        Duration every = config.get().agent().reconcileInterval();
        boolean recent = last != null
                && Duration.between(last, clock.instant()).compareTo(every.multipliedBy(2).plusMinutes(1)) < 0;
        return new LoopHealth(watcher.alive(), schedulerUp, recent);
    }

    /** True while every loop is alive. */
    public boolean healthy() {
        return loopHealth().failing().isEmpty();
    }

    void dirty(String root, Path where) {
        synchronized (changed) {
            if (where == null) {
                changedAnywhere.add(root);
            } else {
                changed.computeIfAbsent(root, k -> new java.util.LinkedHashSet<>()).add(where);
            }
        }
        if (soonPending.compareAndSet(false, true)) {
            // Leading edge: a lone save after a quiet spell is looked at at once; events that follow
            // within the window share the next pass. The window is three times what the last event
            // pass took, between COALESCE_MIN and COALESCE, so event passes never take more than about
            // a quarter of the agent's time, however large the tree or fast the saves.
            Instant now = clock.instant();
            Instant last = lastEventPass;
            Duration window = coalesceWindow(lastEventPassTook);
            Instant at = last == null || !now.isBefore(last.plus(window)) ? now : last.plus(window);
            scheduleOnce("event", at);
        }
    }

    /** How long events after an event pass wait for the next: three times that pass, within bounds. */
    static Duration coalesceWindow(Duration lastPass) {
        Duration w = lastPass.multipliedBy(3);
        return w.compareTo(COALESCE_MIN) < 0 ? COALESCE_MIN : w.compareTo(COALESCE) > 0 ? COALESCE : w;
    }

    /**
     * What an event pass looks at, per root: the directories events named (null: the whole root),
     * taken so that events arriving during the pass go to the next one.
     */
    private Map<String, Set<Path>> takeChanges() {
        synchronized (changed) {
            Map<String, Set<Path>> out = new java.util.HashMap<>(changed);
            for (String root : changedAnywhere) {
                out.put(root, null);
            }
            changed.clear();
            changedAnywhere.clear();
            return out;
        }
    }

    private volatile Instant lastEventPass;

    private void scheduleOnce(String name, Instant at) {
        try {
            TriggerKey key = TriggerKey.triggerKey(name + "@" + at.toEpochMilli());
            if (scheduler.checkExists(key)) {
                return;
            }
            scheduler.scheduleJob(TriggerBuilder.newTrigger().withIdentity(key).forJob(JOB).startAt(Date.from(at))
                    .withSchedule(SimpleScheduleBuilder.simpleSchedule().withMisfireHandlingInstructionFireNow()).build());
        } catch (SchedulerException e) {
            log.warn("cannot schedule a {} pass: {}", name, e.getMessage());
            soonPending.set(false);
            reloadPending.set(false);
            probePending.set(false);
        }
    }

    /** One pass over every root. Never throws: a failing pass is logged and the next one runs as planned. */
    void sweep(String why) {
        // Event and settle passes look only where something changed or is settling; the others
        // (startup, periodic, reload) walk every root.
        Map<String, Set<Path>> scopes = null;
        boolean eventPass = why.startsWith("event");
        if (eventPass) {
            soonPending.set(false);
            lastEventPass = clock.instant();
            scopes = takeChanges();
        } else if (why.startsWith("settle")) {
            scopes = settling;
        }
        Config cfg = config.get();
        Instant now = clock.instant();
        long started = System.nanoTime();
        try {
            Instant nextSettle = null;
            Map<String, Path> reached = new java.util.LinkedHashMap<>();
            List<RootConfig> local = new java.util.ArrayList<>();
            List<RootConfig> remote = new java.util.ArrayList<>();
            List<RootScan> scans = new java.util.ArrayList<>();
            Map<String, Set<Path>> stillSettling = new java.util.HashMap<>();
            for (RootConfig root : cfg.roots()) {
                RootScan scan = scopes == null || (scopes.containsKey(root.name()) && scopes.get(root.name()) == null)
                        ? reconciler.reconcile(cfg, root)
                        : reconciler.reconcile(cfg, root, scopes.getOrDefault(root.name(), Set.of()));
                stillSettling.put(root.name(), settlingDirs(scan.checkpoints()));
                scans.add(scan);
                nextSettle = earliest(nextSettle, settleDue(scan.checkpoints(), cfg.agent().settleTime(), now));
                if (scan.reachable() && !root.isLocal()) {
                    remote.add(root); // polled, not watched; retention applies, free-space figures do not
                } else if (scan.reachable()) {
                    reached.put(root.name(), scan.path());
                    local.add(root);
                    if (!why.equals("startup") && !watcher.watching(root.name())) {
                        // A root that did not exist (or was not mounted) at startup: watch it now that it does.
                        log.info("root {} is reachable now; watching {} directories", root.name(),
                                watcher.watchRoot(root.name(), scan.path()));
                    }
                }
                log.debug("reconciled {} ({}): {} checkpoints, {} inspected, {} gone, {} ms", root.name(), why,
                        scan.checkpoints().size(), scan.inspected(), scan.gone(), scan.took().toMillis());
            }
            if (lease == null ? why.equals("startup") : recoveryPending && lease.held()) {
                recoveryPending = false;
                recover(local, reached, now);
            }
            if (why.equals("startup")) {
                for (RootScan scan : scans) {
                    Map<CheckpointState, Long> byState = new java.util.EnumMap<>(
                            CheckpointState.class);
                    scan.checkpoints().forEach(c -> byState.merge(c.state(), 1L, Long::sum));
                    log.info("root {}: {} checkpoint(s) {} in {} ms{}", scan.root(), scan.checkpoints().size(), byState,
                            scan.took().toMillis(), scan.problems().isEmpty() ? "" : ", " + scan.problems().size() + " problem(s)");
                }
            }
            settling = stillSettling;
            List<RootConfig> enforced = new java.util.ArrayList<>(local);
            enforced.addAll(remote);
            Map<String, Set<Path>> evicted = enforce(cfg, enforced, reached, scans, now);
            metrics.updateFromScans(cfg, rescanAfterEnforcement(cfg, scans, evicted));
            metrics.recordReconcile(Duration.ofNanos(System.nanoTime() - started));
            if (why.equals("startup") || why.equals("periodic")) {
                for (FilesystemForecast f : FilesystemForecast.compute(cfg, registry, now)) {
                    metrics.setFullForecast(f.mount(), f.fullInSeconds() == null ? Double.POSITIVE_INFINITY : f.fullInSeconds());
                }
            }
            if (nextSettle != null) {
                scheduleOnce("settle", nextSettle);
            }
            lastSweep = now;
            if (why.equals("startup")) {
                startupCheckpoints = scans.stream().mapToLong(sc -> sc.checkpoints().size()).sum();
            }
            if (eventPass) {
                lastEventPassTook = Duration.ofNanos(System.nanoTime() - started);
            }
            log.debug("pass ({}) done in {} ms", why, (System.nanoTime() - started) / 1_000_000);
        } catch (RuntimeException e) {
            if (e instanceof RegistryException r && registryHealth.failed(r)) {
                // An outage, logged once: the loop is alive (the pass ran), the registry is what failed.
                lastSweep = now;
                return;
            }
            log.error("reconcile pass ({}) failed: {}", why, e.toString(), e);
        }
    }

    /** Asks the registry again in {@link #REGISTRY_RETRY}, unless a probe is already due. */
    private void probeRegistrySoon() {
        if (probePending.compareAndSet(false, true)) {
            scheduleOnce(REGISTRY_PROBE, clock.instant().plus(REGISTRY_RETRY));
        }
    }

    /** Whether the registry answers: {@code /healthz}, {@code ckpt_warden_registry_up} and the API read it. */
    public RegistryHealth registryHealth() {
        return registryHealth;
    }

    /** Finishes evictions a crash interrupted (whole in the trash, or whole in place) and empties the trash. */
    private void recover(List<RootConfig> roots, Map<String, Path> dirs, Instant now) {
        for (RootConfig r : roots) {
            try {
                enforcer.recover(r, dirs.get(r.name()), now);
            } catch (IOException | RuntimeException e) {
                log.error("root {}: trash recovery failed: {}", r.name(), e.getMessage());
            }
        }
    }

    /**
     * Retention, quotas and watermarks for every reachable root, planned from this pass's view of what
     * is present; removal only through the Enforcer.
     *
     * @return per root, the parent directories of what was removed (to be looked at again)
     */
    private Map<String, Set<Path>> enforce(Config cfg, List<RootConfig> roots, Map<String, Path> dirs,
                                           List<RootScan> scans, Instant now) {
        Map<String, Set<Path>> evicted = new java.util.HashMap<>();
        Map<String, List<Checkpoint>> present = new java.util.HashMap<>();
        for (RootScan scan : scans) {
            if (roots.stream().anyMatch(r -> r.name().equals(scan.root()))) {
                present.put(scan.root(), scan.checkpoints());
            }
        }
        // Judged even when nothing is enforced: a reload back to watch-only cancels what waited.
        PolicyChange change = policyChange.judge(cfg, present, now);
        if (roots.stream().noneMatch(r -> r.retention() != null)) {
            return evicted;
        }
        if (lease != null && !lease.held()) {
            // Another agent enforces: planning here would only count refusals as eviction failures.
            return evicted;
        }
        EvictionPlan plan;
        try {
            plan = EvictionPlan.ofPresent(present, roots, dirs, now, change);
        } catch (IOException e) {
            log.error("cannot plan evictions: {}", e.getMessage());
            return evicted;
        }
        if (log.isDebugEnabled()) {
            plan.filesystems().forEach((name, f) -> log.debug("filesystem {} of {}: {} of {} bytes free, next save ~{} bytes",
                    name, f.roots(), f.free(), f.size(), f.nextSaveBytes()));
        }
        // Roots that may delete go first, and what offload could not free under disk pressure is asked of them
        // next: a slow or failing offload never holds up a deletion policy allows.
        OffloadShortfall.Pass pass = OffloadShortfall.enforce(plan,
                roots.stream().filter(r -> r.retention() != null).toList(),
                (r, evictions) -> enforceRoot(r, dirs.get(r.name()), evictions, now, evicted));
        Map<String, String> stillUnresolved = pass.unresolved();
        for (RootConfig r : roots) {
            String why = stillUnresolved.get(r.name());
            metrics.setPressureUnresolved(r.name(), why != null);
            notePressure(r.name(), why, plan);
        }
        return evicted;
    }

    /**
     * One log line when a root's pressure episode (quota or free space, relieved by evicting or not)
     * starts, one when it becomes unresolved, one when it ends: never one per pass.
     */
    private void notePressure(String root, String unresolvedWhy, EvictionPlan plan) {
        Set<String> kinds = new TreeSet<>();
        for (Eviction e : plan.evictions(root)) {
            if (!e.reason().equals(Eviction.POLICY)) {
                kinds.add(e.reason().replace('_', ' '));
            }
        }
        boolean pressed = unresolvedWhy != null || !kinds.isEmpty();
        boolean started = pressed && underPressure.add(root);
        if (unresolvedWhy != null && unresolved.add(root)) {
            log.error("root {}: pressure unresolved: {}{}", root, unresolvedWhy, unresolvedWhy.equals(plan.unresolved().get(root))
                    ? "; protected checkpoints are never removed to make room" : "");
        } else if (started) {
            log.warn("root {}: {} pressure: evicting {} checkpoint(s), least valuable first", root, String.join(" and ", kinds),
                    plan.evictions(root).size());
        }
        if (unresolvedWhy == null) {
            unresolved.remove(root);
        }
        if (!pressed && underPressure.remove(root)) {
            log.info("root {}: pressure resolved", root);
        }
    }

    /**
     * One root's enforcement with its metrics; what it removed is forgotten by the reconciler and its
     * directories noted in {@code evicted}. Null when the root could not be enforced (logged).
     */
    private EnforcementReport enforceRoot(RootConfig r, Path dir, List<Eviction> evictions, Instant now,
                                          Map<String, Set<Path>> evicted) {
        try {
            EnforcementReport report = enforcer.enforce(r, dir, evictions, false, now);
            List<String> removed = new java.util.ArrayList<>();
            for (EnforcementReport.Item item : report.items()) {
                if (item.removed()) {
                    removed.add(item.path().toString());
                    evicted.computeIfAbsent(r.name(), k -> new java.util.LinkedHashSet<>()).add(item.path().getParent());
                    metrics.recordEviction(r.name(), report.action(), item.reason(), item.bytes());
                } else if (item.failed()) {
                    metrics.recordEvictionFailure(r.name());
                }
            }
            reconciler.forget(r.name(), removed);
            return report;
        } catch (EnforcementBusyException e) {
            log.info("root {}: another enforcement pass is running ({}); skipped this time", r.name(), e.getMessage());
        } catch (IOException | RuntimeException e) {
            log.error("root {}: enforcement failed: {}", r.name(), e.getMessage());
        }
        return null;
    }

    /**
     * The gauges describe what is on disk after this pass: where enforcement removed something, look
     * again at those directories (the rest of each root is as the pass found it).
     */
    private List<RootScan> rescanAfterEnforcement(Config cfg, List<RootScan> scans, Map<String, Set<Path>> evicted) {
        if (evicted.isEmpty()) {
            return scans;
        }
        List<RootScan> fresh = new java.util.ArrayList<>();
        for (RootScan scan : scans) {
            RootConfig root = cfg.root(scan.root());
            Set<Path> where = evicted.get(scan.root());
            fresh.add(where == null || root == null ? scan : reconciler.reconcile(cfg, root, where));
        }
        return fresh;
    }

    /** The directories holding checkpoints still settling: where the next settle pass looks. */
    private static Set<Path> settlingDirs(List<Checkpoint> checkpoints) {
        Set<Path> out = new java.util.HashSet<>();
        for (Checkpoint c : checkpoints) {
            if (dev.ckptwarden.catalog.StateJudge.settling(c) && c.path().getParent() != null) {
                out.add(c.path().getParent());
            }
        }
        return out;
    }

    /** Roots whose quota or free-space watermark cannot currently be met. */
    public Set<String> pressureUnresolved() {
        return Set.copyOf(unresolved);
    }

    /**
     * When the first still-settling checkpoint may get its verdict: its last change plus settle time (plus
     * the grace when its format check fails, {@link dev.ckptwarden.catalog.StateJudge#verdictDue}).
     */
    static Instant settleDue(List<Checkpoint> checkpoints, Duration settle, Instant now) {
        Instant due = null;
        for (Checkpoint c : checkpoints) {
            if (dev.ckptwarden.catalog.StateJudge.settling(c)) {
                Instant t = dev.ckptwarden.catalog.StateJudge.verdictDue(c, settle).plusMillis(50);
                if (t.isBefore(now)) {
                    t = now.plus(settle); // clock stepped back: try again one settle time from now
                }
                due = earliest(due, t);
            }
        }
        return due;
    }

    private static Instant earliest(Instant a, Instant b) {
        return a == null ? b : b == null ? a : a.isBefore(b) ? a : b;
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
        try {
            scheduler.shutdown(true); // waits for the pass in progress to end
        } catch (SchedulerException e) {
            log.warn("scheduler shutdown: {}", e.getMessage());
        }
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
