package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.export.RunSummary;
import dev.ckptwarden.watch.DirectoryWatcher;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass's first step: bring the registry in line with the disk, root by root, over the whole root or
 * only where events or settling checkpoints say to look; start watching a root that has become
 * reachable since the agent started, before walking it. What it found is what the enforcement step plans from.
 */
final class ReconcileJob {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private final Reconciler reconciler;
    private final DirectoryWatcher watcher;

    /**
     * @param scans     every configured root's scan, in configuration order
     * @param reached   local roots that could be read, by name, with the directory scanned
     * @param local     those local roots' configurations
     * @param remote    remote roots that could be read (polled, not watched; no free-space figures)
     * @param settling  per root, the directories of checkpoints still settling and when each may get its verdict
     * @param runs      per root, its runs' summaries as the pass found them (what the gauges show)
     */
    record Reconciled(List<RootScan> scans, Map<String, Path> reached, List<RootConfig> local, List<RootConfig> remote,
                      Map<String, Map<Path, Instant>> settling, Map<String, List<RunSummary>> runs) {

        /** Local roots first, then remote ones: what enforcement runs over. */
        List<RootConfig> enforced() {
            List<RootConfig> out = new ArrayList<>(local);
            out.addAll(remote);
            return out;
        }
    }

    ReconcileJob(Reconciler reconciler, DirectoryWatcher watcher) {
        this.reconciler = reconciler;
        this.watcher = watcher;
    }

    /** @param scopes per root, the directories to look at (a null value: the whole root); null: every root whole */
    Reconciled run(Config cfg, PassKind kind, Map<String, Set<Path>> scopes, Instant now) {
        Map<String, Path> reached = new LinkedHashMap<>();
        List<RootConfig> local = new ArrayList<>();
        List<RootConfig> remote = new ArrayList<>();
        List<RootScan> scans = new ArrayList<>();
        Map<String, Map<CheckpointState, Long>> counts = new HashMap<>();
        Map<String, Map<Path, Instant>> stillSettling = new HashMap<>();
        Map<String, List<RunSummary>> runs = new HashMap<>();
        for (RootConfig root : cfg.roots()) {
            if (root.isLocal() && !watcher.watching(root.name()) && Files.isDirectory(root.localPath())) {
                // Watch, then walk: a save made while this pass walks the root is heard by the watcher.
                watchLate(root, root.localPath());
            }
            RootScan scan = scopes == null || (scopes.containsKey(root.name()) && scopes.get(root.name()) == null)
                    ? reconciler.reconcile(cfg, root)
                    : reconciler.reconcile(cfg, root, scopes.getOrDefault(root.name(), Set.of()));
            // One visit of the root, run by run: what still settles, the runs' summaries, the counts by state.
            Map<Path, Instant> settlingDirs = new LinkedHashMap<>();
            List<RunSummary> summaries = new ArrayList<>();
            Map<CheckpointState, Long> byState = new EnumMap<>(CheckpointState.class);
            scan.present().forEachRun(run -> {
                Settling.dueByDirectory(run, cfg.agent().settleTime(), now).forEach((dir, due) ->
                        settlingDirs.merge(dir, due, Settling::earliest));
                summaries.addAll(RunSummary.of(run, cfg));
                run.forEach(c -> byState.merge(c.state(), 1L, Long::sum));
            });
            stillSettling.put(root.name(), settlingDirs);
            runs.put(root.name(), summaries);
            counts.put(root.name(), byState);
            scans.add(scan);
            if (scan.reachable() && !root.isLocal()) {
                remote.add(root);
            } else if (scan.reachable()) {
                reached.put(root.name(), scan.path());
                local.add(root);
            }
            log.debug("reconciled {} ({}): {} checkpoints, {} inspected, {} gone, {} ms", root.name(), kind.word(),
                    total(byState), scan.inspected(), scan.gone(), scan.took().toMillis());
        }
        if (kind == PassKind.STARTUP) {
            for (RootScan scan : scans) {
                Map<CheckpointState, Long> byState = counts.get(scan.root());
                log.info("root {}: {} checkpoint(s) {} in {} ms{}", scan.root(), total(byState), byState,
                        scan.took().toMillis(), scan.problems().isEmpty() ? "" : ", " + scan.problems().size() + " problem(s)");
            }
        }
        return new Reconciled(scans, reached, local, remote, stillSettling, runs);
    }

    private static long total(Map<CheckpointState, Long> byState) {
        return byState.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Watches every local root's directories (a root that is not there yet: when a pass first reaches it). */
    void watchRoots(Config cfg) {
        for (RootConfig r : cfg.roots()) {
            if (r.isLocal()) {
                try {
                    r.localPath().toRealPath(); // there? (watched as configured: events name paths as scan does)
                    int n = watcher.watchRoot(r.name(), r.localPath());
                    log.info("watching root {} ({} directories)", r.name(), n);
                } catch (IOException e) {
                    log.warn("root {} cannot be watched ({}); the periodic reconcile will pick it up when it appears",
                            r.name(), e.getMessage());
                }
            }
        }
    }

    /** A root that did not exist (or was not mounted) at startup: watch it now that it does. */
    private void watchLate(RootConfig root, Path dir) {
        log.info("root {} is reachable now; watching {} directories", root.name(), watcher.watchRoot(root.name(), dir));
    }
}
