package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registry;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Properties;
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
    /** Events arriving within this window share one pass (a 1,000-shard save is one pass, not 1,000). */
    static final Duration COALESCE = Duration.ofMillis(300);

    private final AtomicReference<Config> config;
    private final Registry registry;
    private final Clock clock;
    private final Reconciler reconciler;
    private final Scheduler scheduler;
    private final DirectoryWatcher watcher;
    private final AtomicBoolean soonPending = new AtomicBoolean();
    private volatile Instant lastSweep;

    public Agent(Config config, Registry registry, Clock clock) throws IOException, SchedulerException {
        this.config = new AtomicReference<>(config);
        this.registry = registry;
        this.clock = clock;
        this.reconciler = new Reconciler(registry, clock);
        Properties p = new Properties();
        p.setProperty(StdSchedulerFactory.PROP_SCHED_INSTANCE_NAME, "ckpt-warden");
        p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
        p.setProperty("org.quartz.threadPool.threadCount", "1");
        p.setProperty("org.quartz.jobStore.class", "org.quartz.simpl.RAMJobStore");
        // A trigger is "misfired" when it could not run on time (the pass before it ran long, the host slept).
        p.setProperty("org.quartz.jobStore.misfireThreshold", "1000");
        this.scheduler = new StdSchedulerFactory(p).getScheduler();
        this.scheduler.getContext().put(ReconcileJob.AGENT_KEY, this);
        this.watcher = new DirectoryWatcher(this::dirty);
    }

    public void start() throws SchedulerException {
        Config cfg = config.get();
        sweep("startup");
        for (RootConfig r : cfg.roots()) {
            if (r.isLocal()) {
                try {
                    int n = watcher.watchRoot(r.name(), Reconciler.localPath(r).toRealPath());
                    log.info("watching root {} ({} directories)", r.name(), n);
                } catch (IOException e) {
                    log.warn("root {} cannot be watched ({}); the periodic reconcile will pick it up when it appears",
                            r.name(), e.getMessage());
                }
            }
        }
        watcher.start();
        JobDetail job = JobBuilder.newJob(ReconcileJob.class).withIdentity(JOB).storeDurably().build();
        scheduler.addJob(job, true);
        Duration every = cfg.agent().reconcileInterval();
        // Missed periodic passes are not replayed: the next one is a full reconcile anyway.
        Trigger periodic = TriggerBuilder.newTrigger().withIdentity("periodic").forJob(JOB)
                .startAt(Date.from(clock.instant().plus(every)))
                .withSchedule(SimpleScheduleBuilder.simpleSchedule().withIntervalInMilliseconds(every.toMillis())
                        .repeatForever().withMisfireHandlingInstructionNextWithRemainingCount())
                .build();
        scheduler.scheduleJob(periodic);
        scheduler.start();
        log.info("agent started: {} root(s), full reconcile every {}, settle time {}", cfg.roots().size(), every,
                cfg.agent().settleTime());
    }

    /** True while the scheduler and watcher run and a sweep happened within two intervals. */
    public boolean healthy() {
        try {
            Instant last = lastSweep;
            Duration every = config.get().agent().reconcileInterval();
            return scheduler.isStarted() && !scheduler.isShutdown() && watcher.alive() && last != null
                    && Duration.between(last, clock.instant()).compareTo(every.multipliedBy(2).plusMinutes(1)) < 0;
        } catch (SchedulerException e) {
            return false;
        }
    }

    private void dirty(String root) {
        if (soonPending.compareAndSet(false, true)) {
            scheduleOnce("event", clock.instant().plus(COALESCE));
        }
    }

    private void scheduleOnce(String name, Instant at) {
        try {
            TriggerKey key = TriggerKey.triggerKey(name + "-" + at.toEpochMilli());
            if (scheduler.checkExists(key)) {
                return;
            }
            scheduler.scheduleJob(TriggerBuilder.newTrigger().withIdentity(key).forJob(JOB).startAt(Date.from(at))
                    .withSchedule(SimpleScheduleBuilder.simpleSchedule().withMisfireHandlingInstructionFireNow()).build());
        } catch (SchedulerException e) {
            log.warn("cannot schedule a {} pass: {}", name, e.getMessage());
            soonPending.set(false);
        }
    }

    /** One pass over every root. Never throws: a failing pass is logged and the next one runs as planned. */
    void sweep(String why) {
        if (why.startsWith("event")) {
            soonPending.set(false);
        }
        Config cfg = config.get();
        Instant now = clock.instant();
        try {
            Instant nextSettle = null;
            for (RootConfig root : cfg.roots()) {
                RootScan scan = reconciler.reconcile(cfg, root);
                nextSettle = earliest(nextSettle, settleDue(scan.checkpoints(), cfg.agent().settleTime(), now));
                log.debug("reconciled {} ({}): {} checkpoints, {} inspected, {} gone, {} ms", root.name(), why,
                        scan.checkpoints().size(), scan.inspected(), scan.gone(), scan.took().toMillis());
            }
            if (nextSettle != null && !why.equals("startup-final")) {
                scheduleOnce("settle", nextSettle);
            }
            lastSweep = now;
        } catch (RuntimeException e) {
            log.error("reconcile pass ({}) failed: {}", why, e.toString(), e);
        }
    }

    /** When the first still-settling checkpoint may become complete: its last change plus settle time. */
    static Instant settleDue(List<Checkpoint> checkpoints, Duration settle, Instant now) {
        Instant due = null;
        for (Checkpoint c : checkpoints) {
            if (c.state() == CheckpointState.WRITING && c.note() != null && c.note().startsWith("changed ")) {
                Instant t = c.modified().plus(settle).plusMillis(50);
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
        try {
            scheduler.shutdown(true); // waits for a pass in progress: never stop mid-pass
        } catch (SchedulerException e) {
            log.warn("scheduler shutdown: {}", e.getMessage());
        }
        try {
            watcher.close();
        } catch (IOException e) {
            log.debug("watcher close: {}", e.getMessage());
        }
    }
}
