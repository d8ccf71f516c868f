package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.policy.PressurePlanner;
import dev.ckptwarden.registry.Registry;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
        Map<String, RetentionPlan> retention = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            retention.put(r.name(), RetentionPlan.of(registry, r, run, now, change));
        }
        return planned(retention, roots, rootDirs, now, space);
    }

    /**
     * As {@link #of(Registry, List, Map, String, Instant)} for checkpoints already in hand: the running
     * agent plans from its view of each root's present checkpoints, without reading the registry again.
     */
    public static EvictionPlan ofPresent(Map<String, List<Checkpoint>> present, List<RootConfig> roots,
                                  Map<String, Path> rootDirs, Instant now) throws IOException {
        return ofPresent(present, roots, rootDirs, now, PolicyChange.NONE);
    }

    /** As above, with the policy evictions a configuration change brought waiting until their time. */
    public static EvictionPlan ofPresent(Map<String, List<Checkpoint>> present, List<RootConfig> roots,
                                  Map<String, Path> rootDirs, Instant now, PolicyChange change) throws IOException {
        Map<String, RetentionPlan> retention = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            retention.put(r.name(), RetentionPlan.of(present.getOrDefault(r.name(), List.of()), r, null, now, change));
        }
        return planned(retention, roots, rootDirs, now, Space.OF_STORE);
    }

    private static EvictionPlan planned(Map<String, RetentionPlan> retention, List<RootConfig> roots,
                                   Map<String, Path> rootDirs, Instant now, Space space) throws IOException {
        EvictionPlan plan = new EvictionPlan();
        Map<FileStore, List<RootConfig>> byStore = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            Path dir = rootDirs.get(r.name());
            plan.retention.put(r.name(), retention.get(r.name()));
            plan.evictions.put(r.name(), new ArrayList<>());
            if (dir != null) {
                byStore.computeIfAbsent(Files.getFileStore(dir), k -> new ArrayList<>()).add(r);
            }
        }
        for (Map.Entry<FileStore, List<RootConfig>> group : byStore.entrySet()) {
            FileStore store = group.getKey();
            List<PressurePlanner.RootInput> inputs = new ArrayList<>();
            List<Checkpoint> all = new ArrayList<>();
            for (RootConfig r : group.getValue()) {
                List<Decision> decisions = plan.retention.get(r.name()).decisions();
                inputs.add(new PressurePlanner.RootInput(r, decisions));
                decisions.forEach(d -> all.add(d.checkpoint()));
            }
            long size = space.size(store);
            long free = space.free(store);
            long next = PressurePlanner.nextSaveBytes(all, now, ACTIVE_RUN);
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

    private static String rootOf(List<RootConfig> roots, Checkpoint c) {
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
