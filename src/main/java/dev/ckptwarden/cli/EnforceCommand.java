package dev.ckptwarden.cli;

import dev.ckptwarden.config.ByteSize;

import dev.ckptwarden.export.CheckpointJson;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.EvictionPlan;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;
import dev.ckptwarden.watch.ScanProblem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code enforce [--dry-run]}: one enforcement pass without the daemon (cron style). Per root:
 * reconcile, finish what a crashed pass left in the trash, plan, and remove what the plan evicts;
 * with {@code --dry-run} nothing is removed, recovered or written to the audit log (the reconcile
 * still brings the registry up to date) and the output says what would go.
 */
@Command(name = "enforce", description = "One enforcement pass without the daemon: reconcile, plan, remove what retention evicts.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden enforce --dry-run",
                "  ckpt-warden enforce --root main   # from cron: removes what plan evicts"})
final class EnforceCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--dry-run", description = "say exactly what would be removed; touch nothing")
    boolean dryRun;

    @Option(names = "--root", paramLabel = "ROOT", description = "only this root")
    String root;

    @Option(names = "--json", description = "machine output")
    boolean json;

    @Option(names = "--fresh-registry", description = "after the registry was lost (enforcement deletes nothing and says so):"
            + " forget the pins it held and allow deleting again, also for a running agent; pin again what must be kept first")
    boolean freshRegistry;

    /** One root's pass: what was recovered, what was enforced (null when the root could not be), and what went wrong. */
    private record RootPass(RootConfig root, EnforcementReport recovered, EnforcementReport enforced, List<String> problems) {
    }

    @Override
    public Integer call() {
        Config cfg = config.load();
        ConfigOption.checkStateDir(cfg);
        List<RootConfig> roots = RootSelection.of(cfg, root);
        Clock clock = Clock.systemUTC();
        List<RootPass> passes = new ArrayList<>();
        // A dry run changes nothing and may look while the agent runs; a real pass never enforces beside it.
        try (dev.ckptwarden.daemon.AgentLock lock = dryRun ? null : ConfigOption.lockStateDir(cfg, "enforce");
             Registry registry = ConfigOption.openRegistry(cfg, freshRegistry);
             AuditLog audit = dryRun ? null : AuditLog.open(cfg.agent().stateDir());
             Reconciler reconciler = new Reconciler(registry, clock)) {
            Enforcer enforcer = new Enforcer(registry, audit);
            Lease lease = clusterLease(cfg, registry);
            if (lease != null) {
                enforcer.guardWith(lease::checkHeld);
            }
            try {
                Map<String, Path> reached = new LinkedHashMap<>();
                Map<String, List<String>> problems = new LinkedHashMap<>();
                for (RootConfig r : roots) {
                    problems.put(r.name(), reconcile(cfg, r, reconciler, reached));
                }
                // Planned after every root is reconciled: roots sharing a filesystem are planned together.
                // Evictions the agent delays after a configuration change wait here too (pressure does not).
                EvictionPlan plan = EvictionPlan.of(registry, roots, reached, null, clock.instant(),
                        EvictionPlan.Space.OF_STORE, ConfigOption.policyChange(cfg));
                for (RootConfig r : roots) {
                    passes.add(pass(r, reached.containsKey(r.name()), reached.get(r.name()), plan, problems.get(r.name()),
                            enforcer, clock));
                }
                plan.unresolved().forEach((r, why) -> System.err.println(TerminalText.escape("ckpt-warden: " + r + ": pressure unresolved: " + why)));
            } finally {
                if (lease != null) {
                    lease.release(); // before the registry closes: agents take over at their next renewal
                }
            }
        } catch (IOException e) {
            throw new CliError(ExitCode.RUNTIME, "audit log in " + cfg.agent().stateDir() + ": " + e.getMessage());
        }
        if (json) {
            System.out.println(CheckpointJson.write(json(passes)));
        } else {
            print(passes);
        }
        boolean failed = passes.stream().anyMatch(p -> !p.problems().isEmpty() || p.enforced() == null
                || p.enforced().anyFailed() || (p.recovered() != null && p.recovered().anyFailed()));
        return failed ? ExitCode.RUNTIME : ExitCode.OK;
    }

    /**
     * Cluster mode: deleting from the command line takes the same lease as the agents, so it runs only
     * while no agent holds it; held for {@link #CLI_LEASE} at most (a crashed command blocks the agents
     * no longer than that), released at the end.
     */
    private Lease clusterLease(Config cfg, Registry registry) {
        PostgresRegistry shared = ConfigOption.shared(registry);
        if (dryRun || !cfg.agent().cluster() || shared == null) {
            return null;
        }
        Lease lease = shared.lease(Lease.ENFORCEMENT, Lease.processHolder(), CLI_LEASE);
        if (!lease.acquire()) {
            String holder = lease.current().map(h -> h.holder()).orElse("another agent");
            throw new CliError(ExitCode.RUNTIME, "cluster mode: lease " + Lease.ENFORCEMENT + " is held by " + holder
                    + "; only the holder deletes (use --dry-run, or stop that agent)");
        }
        return lease;
    }

    private static final java.time.Duration CLI_LEASE = java.time.Duration.ofMinutes(5);

    /** Brings the registry up to date for one root; returns the problems, and records its directory when reached. */
    private static List<String> reconcile(Config cfg, RootConfig r, Reconciler reconciler, Map<String, Path> reached) {
        List<String> problems = new ArrayList<>();
        RootScan scan = reconciler.reconcile(cfg, r);
        for (ScanProblem p : scan.problems()) {
            System.err.println(TerminalText.escape("ckpt-warden: " + r.name() + ": " + p));
        }
        if (!scan.reachable()) {
            problems.add("root not reachable: " + scan.problems().stream().map(ScanProblem::toString).findFirst()
                    .orElse(scan.path().toString()));
        } else {
            // A remote root has no local directory: retention applies to it, free-space figures do not.
            reached.put(r.name(), r.isLocal() ? scan.path() : null);
        }
        return problems;
    }

    private RootPass pass(RootConfig r, boolean reached, Path rootDir, EvictionPlan plan, List<String> problems,
                          Enforcer enforcer, Clock clock) {
        if (!reached) {
            return new RootPass(r, null, null, problems);
        }
        Instant now = clock.instant();
        try {
            EnforcementReport recovered = dryRun ? null : enforcer.recover(r, rootDir, now);
            EnforcementReport enforced = enforcer.enforce(r, rootDir, plan.evictions(r.name()), dryRun, now);
            return new RootPass(r, recovered, enforced, problems);
        } catch (IOException e) {
            problems.add(e.getMessage());
            return new RootPass(r, null, null, problems);
        } catch (UncheckedIOException e) {
            problems.add(e.getCause().getMessage());
            return new RootPass(r, null, null, problems);
        }
    }

    private void print(List<RootPass> passes) {
        Table t = new Table("ROOT", "PATH", "SIZE", "REASON", "OUTCOME", "DETAIL");
        List<String> summary = new ArrayList<>();
        for (RootPass p : passes) {
            if (p.recovered() != null) {
                for (EnforcementReport.Item i : p.recovered().items()) {
                    t.row(cells(p.root().name(), p.recovered(), i, true));
                }
                p.recovered().problems().forEach(x -> System.err.println(TerminalText.escape("ckpt-warden: " + p.root().name() + ": " + x)));
            }
            p.problems().forEach(x -> System.err.println(TerminalText.escape("ckpt-warden: " + p.root().name() + ": " + x)));
            EnforcementReport e = p.enforced();
            if (e == null) {
                continue;
            }
            for (EnforcementReport.Item i : e.items()) {
                t.row(cells(p.root().name(), e, i, false));
            }
            e.problems().forEach(x -> System.err.println(TerminalText.escape("ckpt-warden: " + p.root().name() + ": " + x)));
            long removed = e.items().stream().filter(EnforcementReport.Item::removed).count();
            long would = e.items().stream().filter(EnforcementReport.Item::wouldRemove).count();
            long skipped = e.items().stream().filter(EnforcementReport.Item::skipped).count();
            long failed = e.items().stream().filter(EnforcementReport.Item::failed).count();
            summary.add(TerminalText.escape("root " + p.root().name()) + ": "
                    + (dryRun || e.action() == Action.REPORT
                    ? "would remove " + would + " checkpoint(s), " + ByteSize.format(e.wouldFreeBytes())
                    + (dryRun ? " (dry run)" : " (action: report)")
                    : "removed " + removed + " checkpoint(s), freed " + ByteSize.format(e.freedBytes()))
                    + (skipped > 0 ? "; " + skipped + " skipped" : "") + (failed > 0 ? "; " + failed + " failed" : ""));
        }
        if (!t.isEmpty()) {
            t.print(System.out);
        }
        summary.forEach(System.out::println);
    }

    /** One row of the table: ROOT, PATH, SIZE, REASON, OUTCOME, DETAIL; a recovered item's outcome says so. */
    static Object[] cells(String root, EnforcementReport r, EnforcementReport.Item i, boolean recovered) {
        return new Object[] {root, relative(r, i), ByteSize.format(i.bytes()), i.cause().id(),
                (recovered ? "recovered " : "") + i.outcome(), i.detail()};
    }

    /** The item's path relative to its root, as the table shows it. */
    private static Object relative(EnforcementReport r, EnforcementReport.Item i) {
        return i.path().startsWith(r.rootDir()) ? r.rootDir().relativize(i.path()) : i.path();
    }

    private ObjectNode json(List<RootPass> passes) {
        ObjectNode out = CheckpointJson.MAPPER.createObjectNode();
        out.put("dry_run", dryRun);
        ArrayNode roots = out.putArray("roots");
        for (RootPass p : passes) {
            ObjectNode n = roots.addObject();
            n.put("root", p.root().name());
            n.put("action", p.root().action().id());
            EnforcementReport e = p.enforced();
            n.put("path", e == null ? null : e.rootDir().toString());
            items(n.putArray("recovered"), p.recovered());
            items(n.putArray("evictions"), e);
            n.put("freed_bytes", e == null ? 0 : e.freedBytes() + (p.recovered() == null ? 0 : p.recovered().freedBytes()));
            n.put("would_free_bytes", e == null ? 0 : e.wouldFreeBytes());
            ArrayNode problems = n.putArray("problems");
            p.problems().forEach(problems::add);
            if (p.recovered() != null) {
                p.recovered().problems().forEach(problems::add);
            }
            if (e != null) {
                e.problems().forEach(problems::add);
            }
        }
        return out;
    }

    /** The items of {@code r} as {@code --json} shows them (nothing for a null report). */
    static void items(ArrayNode arr, EnforcementReport r) {
        if (r == null) {
            return;
        }
        for (EnforcementReport.Item i : r.items()) {
            ObjectNode n = arr.addObject();
            n.put("path", RemoteLocation.text(i.path()));
            n.put("run", i.run());
            n.put("bytes", i.bytes());
            n.put("reason", i.cause().id());
            n.put("outcome", i.outcome());
            n.put("detail", i.detail());
            n.put("freed_bytes", i.freed());
        }
    }
}
