package dev.ckptwarden.export;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.Resolver;
import dev.ckptwarden.watch.Reconciler;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code resolve} for the command line and the HTTP API alike (SPEC "Command line"): the answer comes
 * from the run directory as it is on disk now, never from the registry alone. The run is looked at
 * with {@link Reconciler#reconcileRun} (one listing; headers read only of what changed since the
 * registry saw it), so a checkpoint removed by hand is never answered, a run the registry has never
 * seen is found without an earlier {@code scan}, and what was found is registered. Checkpoints of a
 * remote root are answered as the registry has them (remote roots are polled whole by the agent).
 */
public final class DiskResolver {
    private final Registry registry;
    private final Reconciler reconciler;

    public DiskResolver(Registry registry, Reconciler reconciler) {
        this.registry = registry;
        this.reconciler = reconciler;
    }

    /** What a resolve found: a checkpoint, or why there is none. */
    public record Answer(Registered checkpoint, boolean runHasCheckpoints) {
        public boolean found() {
            return checkpoint != null;
        }
    }

    /** The run id names a run in several roots, and no root was given. */
    public static final class SeveralRoots extends IllegalArgumentException {
        public SeveralRoots(String run, Set<String> roots) {
            super("run '" + run + "' exists in several roots " + roots + "; pass the root");
        }
    }

    /**
     * @param rootName the root, or null to find the run in whichever root has it
     * @param metric   the metric for {@code best}, or null for the run's effective {@code keep_best}
     * @param includeOffloaded offloaded checkpoints are eligible too (their only copy is remote)
     * @throws Resolver.BadSelector when the selector is not one of the known forms, or {@code best} has no metric
     * @throws SeveralRoots         when the run is in several roots and none was named
     */
    public Answer resolve(Config config, String rootName, String run, String selector, boolean resumable,
                          Resolver.Metric metric, boolean includeOffloaded) {
        // A mistyped selector is bad usage whatever the run holds; only its form is checked here.
        Resolver.resolve(List.of(), selector, resumable, new Resolver.Metric("", true));
        List<Registered> registered = registry.list(rootName, run, includeOffloaded).stream()
                .filter(c -> c.state() != CheckpointState.DELETED).toList();
        Set<String> roots = new TreeSet<>();
        registered.forEach(c -> roots.add(c.root()));
        for (RootConfig r : roots.isEmpty() ? config.roots() : List.<RootConfig>of()) {
            if ((rootName == null || r.name().equals(rootName)) && r.isLocal() && hasRunDirectory(r, run)) {
                roots.add(r.name());
            }
        }
        if (roots.size() > 1) {
            throw new SeveralRoots(run, roots);
        }
        if (roots.isEmpty()) {
            return new Answer(null, false);
        }
        String name = roots.iterator().next();
        RootConfig root = config.root(name);
        List<Registered> candidates = new ArrayList<>();
        if (root != null && root.isLocal()) {
            List<Registered> present = reconciler.reconcileRun(config, root, run);
            candidates.addAll(present);
            Set<Path> here = new HashSet<>();
            present.forEach(c -> here.add(c.path()));
            for (Registered c : registered) {
                if (c.state() == CheckpointState.OFFLOADED && !here.contains(c.path())) {
                    candidates.add(c);
                }
            }
        } else {
            registered.stream().filter(c -> c.root().equals(name)).forEach(candidates::add);
        }
        if (candidates.isEmpty()) {
            return new Answer(null, false);
        }
        Resolver.Metric best = metric != null ? metric : Resolver.Metric.of(RetentionPolicy.keepBest(root, run));
        return new Answer(Resolver.resolve(candidates, selector, resumable, best, includeOffloaded).orElse(null), true);
    }

    private static boolean hasRunDirectory(RootConfig root, String run) {
        Path dir = root.localPath();
        Path runDir = dir.resolve(run).normalize();
        return runDir.startsWith(dir) && Files.isDirectory(runDir, LinkOption.NOFOLLOW_LINKS);
    }
}
