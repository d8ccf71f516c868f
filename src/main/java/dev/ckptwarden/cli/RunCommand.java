package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.daemon.Agent;
import dev.ckptwarden.daemon.SystemdNotifier;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.EnforcementListener;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** {@code run}: the agent in the foreground (what systemd runs). Stops cleanly on SIGTERM/SIGINT. */
@Command(name = "run", description = "Start the agent in the foreground (what systemd runs).",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden run --config /etc/ckpt-warden/ckpt-warden.yaml"})
final class RunCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    ConfigOption config;

    @Option(names = "--fresh-registry", description = "after the registry was lost (the agent deletes nothing and says so):"
            + " forget the pins it held and allow deleting again; pin again what must be kept first")
    boolean freshRegistry;

    @Override
    public Integer call() throws Exception {
        Config cfg = config.load();
        ConfigOption.checkStateDir(cfg);
        // Held until the process exits (the kernel releases it): a second agent on this state_dir exits 3.
        dev.ckptwarden.daemon.AgentLock lock = ConfigOption.lockStateDir(cfg, "run");
        Registry registry = ConfigOption.openRegistry(cfg, freshRegistry);
        AuditLog audit = AuditLog.open(cfg.agent().stateDir());
        AgentMetrics metrics = new AgentMetrics(Main.release(), Main.revision());
        Agent agent = new Agent(cfg, config.resolve(), System.getenv(), registry, new Enforcer(registry, audit,
                EnforcementListener.NONE, null, metrics.offloadListener()), metrics,
                Clock.systemUTC());
        if (registry instanceof dev.ckptwarden.registry.JournaledRegistry journaled) {
            metrics.bindDeletionHold(journaled::held);
        }
        PostgresRegistry shared = ConfigOption.shared(registry);
        if (cfg.agent().cluster() && shared != null) {
            // Every agent scans and registers; only the holder of the lease deletes.
            agent.coordinateWith(shared.lease(Lease.ENFORCEMENT, Lease.processHolder(),
                    cfg.agent().leaseTime()));
        }
        CountDownLatch stopped = new CountDownLatch(1);
        // What the process exits with once the hook below has closed everything: 0 for a stop asked by
        // systemd or Ctrl-C, 3 when the start failed (System.exit(3) runs this hook too, and a halt(0)
        // there made a failed start look like a clean exit, so Restart=on-failure did nothing).
        AtomicInteger exitStatus = new AtomicInteger(ExitCode.OK);
        SystemdNotifier systemd = SystemdNotifier.fromEnvironment(System.getenv());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            systemd.stopping();
            log.info("stopping: finishing the current pass");
            agent.close();
            registry.close();
            metrics.close();
            try {
                audit.close();
            } catch (java.io.IOException e) {
                log.warn("audit log close: {}", e.getMessage());
            }
            try {
                lock.close(); // last: no other process takes over the state_dir before this one is done with it
            } catch (java.io.IOException e) {
                log.warn("agent lock release: {}", e.getMessage());
            }
            stopped.countDown();
            // A stop requested by systemd or Ctrl-C is a clean exit, not a crash: exit 0 rather than 143.
            Runtime.getRuntime().halt(exitStatus.get());
        }, "ckpt-warden-shutdown"));
        // systemd's ExecReload sends SIGHUP: re-read the configuration (the same validation as check-config).
        // Installed before the startup pass: the JVM's default action for SIGHUP is to exit.
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> agent.requestReload(dev.ckptwarden.daemon.ReloadReason.SIGHUP));
            agent.start();
        } catch (Exception | Error e) {
            exitStatus.set(ExitCode.RUNTIME);
            if (e instanceof java.io.IOException || e instanceof org.quartz.SchedulerException) {
                throw new CliError(ExitCode.RUNTIME, "cannot start: " + e.getMessage());
            }
            throw e;
        }
        systemd.ready("watching " + cfg.roots().size() + " root(s)");
        if (systemd.active() && systemd.watchdogInterval() != null) {
            // Pet the watchdog only while every loop is alive: a hung agent gets restarted by systemd.
            long every = Math.max(1000, systemd.watchdogInterval().toMillis() / 2);
            ScheduledExecutorService pet = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ckpt-warden-watchdog");
                t.setDaemon(true);
                return t;
            });
            pet.scheduleAtFixedRate(() -> {
                if (agent.healthy()) {
                    systemd.watchdog();
                } else {
                    systemd.status("unhealthy: " + String.join(", ", agent.loopHealth().failing()));
                }
            }, every, every, TimeUnit.MILLISECONDS);
        }
        stopped.await();
        return ExitCode.OK;
    }
}
