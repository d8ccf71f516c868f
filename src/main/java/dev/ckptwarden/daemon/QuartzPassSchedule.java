package dev.ckptwarden.daemon;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDataMap;
import org.quartz.JobExecutionContext;
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

/**
 * {@link PassSchedule} on Quartz: one scheduler per agent (its own instance name: Quartz shares a
 * scheduler by name within a JVM, and two agents in one JVM, as in cluster-mode tests, would otherwise
 * run each other's jobs and stop each other's scheduler), an in-memory job store, two threads (lease
 * renewal must not wait behind a long pass). Every pass is one durable job that disallows concurrent
 * execution, so passes never overlap; each trigger carries its {@link PassKind} in its data.
 */
public final class QuartzPassSchedule implements PassSchedule {
    private static final Logger log = LoggerFactory.getLogger(QuartzPassSchedule.class);
    /** Schedulers made in this JVM: each gets its own instance name. */
    private static final AtomicInteger SCHEDULERS = new AtomicInteger();
    private static final JobKey PASS = JobKey.jobKey("pass");
    private static final JobKey LEASE = JobKey.jobKey("lease");
    private static final TriggerKey PERIODIC = TriggerKey.triggerKey("periodic");
    private static final String PASSES = "passes";
    private static final String RENEWAL = "renewal";
    private static final String KIND = "kind";

    /** The scheduler, built on a thread of its own: see the constructor. */
    private final CompletableFuture<Scheduler> built;
    private final Clock clock;

    /** @param passes runs one pass of the given kind; never throws (each pass catches its own failures) */
    QuartzPassSchedule(Consumer<PassKind> passes, Clock clock) {
        this.clock = clock;
        Properties p = new Properties();
        int n = SCHEDULERS.incrementAndGet();
        p.setProperty(StdSchedulerFactory.PROP_SCHED_INSTANCE_NAME, n == 1 ? "ckpt-warden" : "ckpt-warden-" + n);
        p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
        p.setProperty("org.quartz.threadPool.threadCount", "2");
        p.setProperty("org.quartz.jobStore.class", "org.quartz.simpl.RAMJobStore");
        // A trigger is "misfired" when it could not run on time (the pass before it ran long, the host slept).
        p.setProperty("org.quartz.jobStore.misfireThreshold", "1000");
        // Building Quartz takes 60-300 ms of an agent's start (measured at load 13): it is built on a thread of its
        // own while the agent starts its HTTP server, watches its roots and runs the startup pass, and every use
        // waits for it.
        built = CompletableFuture.supplyAsync(() -> create(p, passes),
                task -> new Thread(task, "ckpt-warden-schedule-setup").start());
    }

    private static Scheduler create(Properties p, Consumer<PassKind> passes) {
        try {
            Scheduler scheduler = new StdSchedulerFactory(p).getScheduler();
            scheduler.getContext().put(PASSES, passes);
            // The job exists from the start so that a pass asked for before start (a reload during the
            // startup pass, from `systemctl reload`) is queued rather than lost.
            scheduler.addJob(JobBuilder.newJob(PassJob.class).withIdentity(PASS).storeDurably().build(), true);
            return scheduler;
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot create the scheduler: " + e.getMessage(), e);
        }
    }

    /** The scheduler once built. @throws IllegalStateException when it could not be built */
    private Scheduler scheduler() {
        try {
            return built.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof IllegalStateException ise ? ise : new IllegalStateException(e.getCause());
        }
    }

    @Override
    public void every(Duration period) {
        // Missed periodic passes are not replayed: the next one is a full reconcile anyway.
        Trigger periodic = TriggerBuilder.newTrigger().withIdentity(PERIODIC).forJob(PASS).usingJobData(kind(PassKind.PERIODIC))
                .startAt(Date.from(clock.instant().plus(period)))
                .withSchedule(SimpleScheduleBuilder.simpleSchedule().withIntervalInMilliseconds(period.toMillis())
                        .repeatForever().withMisfireHandlingInstructionNextWithRemainingCount())
                .build();
        try {
            Scheduler scheduler = scheduler();
            if (scheduler.checkExists(PERIODIC)) {
                scheduler.rescheduleJob(PERIODIC, periodic);
            } else {
                scheduler.scheduleJob(periodic);
            }
        } catch (SchedulerException | IllegalStateException e) {
            log.warn("cannot schedule the periodic reconcile: {}", e.getMessage());
        }
    }

    @Override
    public boolean once(PassKind kind, Instant at) {
        try {
            // The name only makes equal requests one trigger; nothing reads it back.
            TriggerKey key = TriggerKey.triggerKey(kind.word() + "@" + at.toEpochMilli());
            Scheduler scheduler = scheduler();
            if (scheduler.checkExists(key)) {
                return true;
            }
            scheduler.scheduleJob(TriggerBuilder.newTrigger().withIdentity(key).forJob(PASS).usingJobData(kind(kind))
                    .startAt(Date.from(at))
                    .withSchedule(SimpleScheduleBuilder.simpleSchedule().withMisfireHandlingInstructionFireNow()).build());
            return true;
        } catch (SchedulerException | IllegalStateException e) {
            log.warn("cannot schedule a {} pass: {}", kind.word(), e.getMessage());
            return false;
        }
    }

    @Override
    public void renewEvery(Duration period, Runnable renewal) {
        long every = Math.max(1, period.toMillis());
        try {
            Scheduler scheduler = scheduler();
            scheduler.getContext().put(RENEWAL, renewal);
            scheduler.scheduleJob(JobBuilder.newJob(RenewalJob.class).withIdentity(LEASE).build(),
                    TriggerBuilder.newTrigger().withIdentity("lease-renewal").startAt(Date.from(clock.instant().plusMillis(every)))
                            .withSchedule(SimpleScheduleBuilder.simpleSchedule().withIntervalInMilliseconds(every)
                                    .repeatForever().withMisfireHandlingInstructionNextWithRemainingCount())
                            .build());
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot schedule lease renewal: " + e.getMessage(), e);
        }
    }

    @Override
    public void start() {
        try {
            scheduler().start();
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot start the scheduler: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean running() {
        try {
            Scheduler scheduler = scheduler();
            return scheduler.isStarted() && !scheduler.isShutdown();
        } catch (SchedulerException | IllegalStateException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            scheduler().shutdown(true); // waits for the pass in progress to end
        } catch (SchedulerException | IllegalStateException e) {
            log.warn("scheduler shutdown: {}", e.getMessage());
        }
    }

    private static JobDataMap kind(PassKind kind) {
        JobDataMap data = new JobDataMap();
        data.put(KIND, kind);
        return data;
    }

    /** The Quartz job behind every pass trigger; concurrent execution is disallowed, so passes never overlap. */
    @DisallowConcurrentExecution
    public static final class PassJob implements Job {
        @Override
        @SuppressWarnings("unchecked")
        public void execute(JobExecutionContext context) {
            try {
                ((Consumer<PassKind>) context.getScheduler().getContext().get(PASSES))
                        .accept((PassKind) context.getMergedJobDataMap().get(KIND));
            } catch (SchedulerException e) {
                log.warn("pass not run: {}", e.getMessage());
            }
        }
    }

    /** The Quartz job that renews cluster mode's lease, beside (never behind) passes. */
    @DisallowConcurrentExecution
    public static final class RenewalJob implements Job {
        @Override
        public void execute(JobExecutionContext context) {
            try {
                ((Runnable) context.getScheduler().getContext().get(RENEWAL)).run();
            } catch (SchedulerException e) {
                log.warn("lease renewal not run: {}", e.getMessage());
            }
        }
    }
}
