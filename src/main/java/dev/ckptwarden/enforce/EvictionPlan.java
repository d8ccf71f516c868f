package dev.ckptwarden.enforce;

import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.policy.PressurePlanner;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything to remove now, for a set of local roots: retention's evictions plus what quotas and the
 * free-space watermark require, planned per filesystem (roots sharing one are planned together, see
 * {@link PressurePlanner}). Reads the registry and the file stores' free space; removes nothing. The
 * agent, {@code enforce} and {@code plan} share it.
 */
public final class EvictionPlan {
    /** A run counts as active (its next save is expected) when it saved within this window. */
    public static final Duration ACTIVE_RUN = Duration.ofHours(24);

    private final Map<String, RetentionPlan> retention = new LinkedHashMap<>();
    private final Map<String, List<Eviction>> evictions = new LinkedHashMap<>();
    private final Map<String, String> unresolved = new LinkedHashMap<>();
    private final Map<String, Filesystem> filesystems = new LinkedHashMap<>();

    /** A filesystem holding one or more roots, as measured for this plan. */
    public record Filesystem(FileStore store, long size, long free, long nextSaveBytes, List<String> roots) {
    }

    /** A filesystem's size and free bytes: the file store's own figures, or a test's. */
    public interface Space {
        Space OF_STORE = new Space() {
            @Override
            public long size(FileStore store) throws IOException {
                return store.getTotalSpace();
            }

            @Override
            public long free(FileStore store) throws IOException {
                return store.getUsableSpace();
            }
        };

        long size(FileStore store) throws IOException;

        long free(FileStore store) throws IOException;
    }

    private EvictionPlan() {
    }

    /**
     * @param rootDirs the resolved directory of each root to plan (roots that could not be reached are left out)
     */
    public static EvictionPlan of(Registry registry, List<RootConfig> roots, Map<String, Path> rootDirs, String run,
                                  Instant now) throws IOException {
        return of(registry, roots, rootDirs, run, now, Space.OF_STORE);
    }

    /** As above, with the filesystems' figures read through {@code space}. */
    public static EvictionPlan of(Registry registry, List<RootConfig> roots, Map<String, Path> rootDirs, String run,
                                  Instant now, Space space) throws IOException {
        return of(registry, roots, rootDirs, run, now, space, PolicyChange.NONE);
    }

    /** As above, with the policy evictions a configuration change brought waiting until their time. */
    public static EvictionPlan of(Registry registry, List<RootConfig> roots, Map<String, Path> rootDirs, String run,
                                  Instant now, Space space, PolicyChange change) throws IOException {
        Map<String, Planning> planning = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            RetentionPlan plan = RetentionPlan.of(registry, r, run, now, change);
            List<Registered> all = plan.decisions().stream().map(Decision::checkpoint).toList();
            planning.put(r.name(), new Planning(plan, new PressurePlanner.RootInput(r, plan.decisions()).runBytes(),
                    PressurePlanner.nextSaveBytes(all, now, ACTIVE_RUN)));
        }
        return planned(planning, roots, rootDirs, space);
    }

    /**
     * As {@link #of(Registry, List, Map, String, Instant)} for the running agent: each root's present
     * checkpoints are visited run by run and let go of once decided. What the plan keeps of a root is its
     * evictions and, where a quota or a free-space watermark may call on them, the decisions pressure could
     * still remove (so {@link #retention} lists only those), plus each run's bytes: never every checkpoint.
     */
    public static EvictionPlan ofPresent(Map<String, PresentRuns> present, List<RootConfig> roots,
                                         Map<String, Path> rootDirs, Instant now, PolicyChange change) throws IOException {
        Set<String> pressed = new HashSet<>();
        for (List<RootConfig> group : byStore(roots, rootDirs).values()) {
            boolean watermark = group.stream().anyMatch(r -> r.disk().minFree() != null || r.disk().minFreeRatio() != null);
            for (RootConfig r : group) {
                if (watermark || r.quota().maxBytes() != null || r.quota().runMaxBytes() != null) {
                    pressed.add(r.name());
                }
            }
        }
        Map<String, Planning> planning = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            List<Decision> kept = new ArrayList<>();
            Map<String, Long> runBytes = new LinkedHashMap<>();
            long[] nextSave = {0};
            boolean candidates = r.retention() != null && pressed.contains(r.name());
            present.getOrDefault(r.name(), PresentRuns.NONE).forEachRun(run -> {
                run.forEach(c -> runBytes.merge(c.run(), c.bytes(), Long::sum));
                nextSave[0] = Math.max(nextSave[0], PressurePlanner.nextSaveBytes(run, now, ACTIVE_RUN));
                for (Decision d : RetentionPlan.decideRun(run, r, now, change)) {
                    if (d.verdict() == Verdict.EVICT || candidates && RetentionPolicy.mayGoUnderPressure(d)) {
                        kept.add(d);
                    }
                }
            });
            planning.put(r.name(), new Planning(new RetentionPlan(r.name(), kept), runBytes, nextSave[0]));
        }
        return planned(planning, roots, rootDirs, Space.OF_STORE);
    }

    /** A root's part of the plan: retention's decisions (all, or those that matter), its runs' bytes, its next save. */
    private record Planning(RetentionPlan retention, Map<String, Long> runBytes, long nextSaveBytes) {
    }

    private static Map<FileStore, List<RootConfig>> byStore(List<RootConfig> roots, Map<String, Path> rootDirs)
            throws IOException {
        Map<FileStore, List<RootConfig>> byStore = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            Path dir = rootDirs.get(r.name());
            if (dir != null) {
                byStore.computeIfAbsent(Files.getFileStore(dir), k -> new ArrayList<>()).add(r);
            }
        }
        return byStore;
    }

    private static EvictionPlan planned(Map<String, Planning> planning, List<RootConfig> roots,
                                        Map<String, Path> rootDirs, Space space) throws IOException {
        EvictionPlan plan = new EvictionPlan();
        for (RootConfig r : roots) {
            plan.retention.put(r.name(), planning.get(r.name()).retention());
            plan.evictions.put(r.name(), new ArrayList<>());
        }
        for (Map.Entry<FileStore, List<RootConfig>> group : byStore(roots, rootDirs).entrySet()) {
            FileStore store = group.getKey();
            List<PressurePlanner.RootInput> inputs = new ArrayList<>();
            long next = 0;
            for (RootConfig r : group.getValue()) {
                Planning p = planning.get(r.name());
                inputs.add(new PressurePlanner.RootInput(r, p.retention().decisions(), p.runBytes()));
                next = Math.max(next, p.nextSaveBytes());
            }
            long size = space.size(store);
            long free = space.free(store);
            PressurePlanner.Plan p = PressurePlanner.plan(inputs, size, free, next);
            for (PressurePlanner.Planned e : p.evictions()) {
                plan.evictions.get(rootOf(group.getValue(), e.checkpoint())).add(new Eviction(e.checkpoint(), e.cause(), e.why()));
            }
            plan.unresolved.putAll(p.unresolved());
            plan.filesystems.put(store.name(), new Filesystem(store, size, free, next,
                    group.getValue().stream().map(RootConfig::name).toList()));
        }
        // Roots without a directory this pass: retention only (no free-space figures to plan with).
        for (RootConfig r : roots) {
            if (rootDirs.get(r.name()) == null) {
                plan.evictions.put(r.name(), plan.retention.get(r.name()).evictions());
            }
        }
        return plan;
    }

    private static String rootOf(List<RootConfig> roots, Registered c) {
        for (RootConfig r : roots) {
            if (r.name().equals(c.root())) {
                return r.name();
            }
        }
        throw new IllegalStateException("checkpoint " + c.path() + " of root " + c.root() + " planned outside its group");
    }

    /** Retention's decisions for a root (every checkpoint, keep or evict, with reasons). */
    public RetentionPlan retention(String root) {
        return retention.get(root);
    }

    /** What to remove in a root: policy evictions first, then pressure evictions least valuable first. */
    public List<Eviction> evictions(String root) {
        return evictions.getOrDefault(root, List.of());
    }

    /** Roots where a quota or the watermark cannot be met without touching protected checkpoints, with why. */
    public Map<String, String> unresolved() {
        return unresolved;
    }

    public Map<String, Filesystem> filesystems() {
        return filesystems;
    }
}
