package dev.ckptwarden.daemon;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementBusyException;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.Eviction;
import dev.ckptwarden.enforce.EvictionPlan;
import dev.ckptwarden.enforce.OffloadShortfall;
import dev.ckptwarden.enforce.PolicyChangeGrace;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.export.RunSummary;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;
import dev.ckptwarden.config.DurationText;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NotDirectoryException;
import java.time.Duration;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass's enforcement step: retention, quotas and watermarks for every reachable root, planned from
 * the reconcile step's view of what is present; removal only through the {@link Enforcer}. Also the
 * trash recovery that finishes evictions a crash interrupted, and the pressure episodes' log lines.
 */
final class EnforceJob {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private final Enforcer enforcer;
    private final AgentMetrics metrics;
    private final Reconciler reconciler;
    /** Policy evictions a reload brought wait {@code agent.policy_change_grace}. */
    private final PolicyChangeGrace policyChange;
    /** Roots whose pressure could not be relieved, so that the error is logged once per episode. */
    private final Set<String> unresolved = new TreeSet<>();
    /** Roots whose trash another pass held when last tried, so that the wait is logged once. */
    private final Set<String> busy = new TreeSet<>();
    /** A root's trash was held by another pass during this pass (passes never overlap, so one flag serves). */
    private boolean busyThisPass;
    /** Roots in a pressure episode (evicting for quota or free space, or unable to), so that it is logged once. */
    private final Set<String> underPressure = new TreeSet<>();
    /** Roots whose enforcement fails as a whole, so that a failure lasting many passes is one line, not one each. */
    private final Map<String, Failing> failing = new HashMap<>();

    /** A root's run of failed enforcement passes: what it says, since when, how many. */
    private record Failing(String why, Instant since, int passes) {
    }

    EnforceJob(Enforcer enforcer, AgentMetrics metrics, Reconciler reconciler, PolicyChangeGrace policyChange) {
        this.enforcer = enforcer;
        this.metrics = metrics;
        this.reconciler = reconciler;
        this.policyChange = policyChange;
    }

    /**
     * Finishes evictions a crash interrupted (whole in the trash, or whole in place) and empties the trash.
     *
     * @return false when another pass held a root's trash, so that what is in it is still to be finished
     */
    boolean recover(List<RootConfig> roots, Map<String, Path> dirs, Instant now) {
        boolean done = true;
        for (RootConfig r : roots) {
            try {
                enforcer.recover(r, dirs.get(r.name()), now);
                busy.remove(r.name());
            } catch (EnforcementBusyException e) {
                done = false;
                noteBusy(r.name(), e);
            } catch (IOException | RuntimeException e) {
                log.error("root {}: trash recovery failed: {}", r.name(), e.getMessage());
            }
        }
        return done;
    }

    /** One log line when another pass starts holding a root's trash up, not one per retry. */
    private void noteBusy(String root, EnforcementBusyException e) {
        if (busy.add(root)) {
            log.info("root {}: another enforcement pass is running ({}); this agent goes on when it ends", root,
                    e.getMessage());
        }
        busyThisPass = true;
    }

    /** True when the last {@link #run} or {@link #recover} found a root's trash held by another pass. */
    boolean trashBusy() {
        return busyThisPass;
    }

    /**
     * @param mayDelete false while another agent holds cluster mode's lease: then nothing is planned
     * @return per root, the parent directories of what was removed (to be looked at again)
     */
    Map<String, Set<Path>> run(Config cfg, List<RootConfig> roots, Map<String, Path> dirs, List<RootScan> scans,
                               boolean mayDelete, Instant now) {
        Map<String, Set<Path>> evicted = new HashMap<>();
        busyThisPass = false;
        // Each root's present checkpoints, visited run by run where they are needed (never all at once).
        Map<String, PresentRuns> present = new HashMap<>();
        for (RootScan scan : scans) {
            if (roots.stream().anyMatch(r -> r.name().equals(scan.root()))) {
                present.put(scan.root(), scan.present());
            }
        }
        // Judged even when nothing is enforced: a reload back to watch-only cancels what waited.
        PolicyChange change = policyChange.judge(cfg, present, now);
        if (roots.stream().noneMatch(r -> r.retention() != null) || !mayDelete) {
            // Without the lease another agent enforces: planning here would only count refusals as failures.
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
        int pressureEvictions = 0;
        for (Eviction e : plan.evictions(root)) {
            if (e.cause() != EvictionCause.POLICY) {
                // "disk pressure" is already a pressure; the quotas are not.
                kinds.add(e.cause() == EvictionCause.DISK_PRESSURE ? e.cause().words() : e.cause().words() + " pressure");
                pressureEvictions++;
            }
        }
        boolean pressed = unresolvedWhy != null || !kinds.isEmpty();
        boolean started = pressed && underPressure.add(root);
        if (started && !kinds.isEmpty()) {
            log.warn("root {}: {}: evicting {} checkpoint(s), least valuable first", root, String.join(" and ", kinds),
                    pressureEvictions);
        }
        if (unresolvedWhy != null && unresolved.add(root)) {
            log.error("root {}: pressure unresolved: {}{}", root, unresolvedWhy, unresolvedWhy.equals(plan.unresolved().get(root))
                    ? "; protected checkpoints are never removed to make room" : "");
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
            List<String> removed = new ArrayList<>();
            for (EnforcementReport.Item item : report.items()) {
                if (item.removed()) {
                    removed.add(item.path().toString());
                    evicted.computeIfAbsent(r.name(), k -> new LinkedHashSet<>()).add(item.path().getParent());
                    metrics.recordEviction(r.name(), report.action(), item.cause(), item.bytes());
                } else if (item.failed()) {
                    metrics.recordEvictionFailure(r.name());
                }
            }
            reconciler.forget(r.name(), removed);
            Failing was = failing.remove(r.name());
            if (was != null) {
                log.info("root {}: enforcement works again after {} failed pass(es) over {}", r.name(), was.passes(),
                        DurationText.format(Duration.between(was.since(), now)));
            }
            busy.remove(r.name());
            return report;
        } catch (EnforcementBusyException e) {
            noteBusy(r.name(), e);
        } catch (IOException | RuntimeException e) {
            // Every eviction this pass planned failed: counted, so that the failures alert fires while it lasts.
            for (int i = 0; i < evictions.size(); i++) {
                metrics.recordEvictionFailure(r.name());
            }
            String why = describe(e);
            Failing was = failing.get(r.name());
            if (was == null || !was.why().equals(why)) {
                log.error("root {}: enforcement failing: {}; {} eviction(s) wait, nothing is removed until it works",
                        r.name(), why, evictions.size());
            }
            failing.put(r.name(), new Failing(why, was == null ? now : was.since(), was == null ? 1 : was.passes() + 1));
        }
        return null;
    }

    /**
     * One line for what stopped a root's enforcement: the file it concerns and what is wrong with it. Kept apart
     * from {@link ErrorLine#withFile} for one case: enforcement makes directories of its own (the trash), so a
     * file already in the way of one is named as such, not as the JDK's bare "exists" or "not a directory".
     */
    private static String describe(Exception e) {
        if (e instanceof FileSystemException x && x.getFile() != null && x.getReason() == null
                && (e instanceof FileAlreadyExistsException || e instanceof NotDirectoryException)) {
            return x.getFile() + ": exists and is not a directory the agent made";
        }
        return ErrorLine.withFile(e);
    }

    /**
     * The gauges describe what is on disk after this pass: where enforcement removed something, look
     * again at those directories and summarise that root's runs again (the rest is as the pass found it).
     *
     * @param found per root, its runs' summaries as the reconcile step found them, in configuration order
     */
    List<RunSummary> runsAfterEnforcement(Config cfg, Map<String, List<RunSummary>> found, Map<String, Set<Path>> evicted) {
        List<RunSummary> out = new ArrayList<>();
        for (RootConfig root : cfg.roots()) {
            Set<Path> where = evicted.get(root.name());
            out.addAll(where == null ? found.getOrDefault(root.name(), List.of())
                    : RunSummary.of(reconciler.reconcile(cfg, root, where).present(), cfg));
        }
        return out;
    }

    /** Roots whose quota or free-space watermark cannot currently be met. */
    Set<String> pressureUnresolved() {
        return Set.copyOf(unresolved);
    }
}
