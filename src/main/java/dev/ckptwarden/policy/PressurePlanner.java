package dev.ckptwarden.policy;

import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Quota and free-space pressure, after retention: what else must go, least valuable first (the
 * order of {@link RetentionPolicy#pressureOrder}), and whether even that is not enough. A pure
 * function: usage figures come in, nothing is read or removed here.
 *
 * <p>Order of the checks: each run over {@code run_max_bytes}, then each root over {@code max_bytes},
 * then the filesystem below its watermark. Roots on one filesystem are planned together: the least
 * valuable checkpoint across all of them goes first, and the strictest watermark among them applies.
 * The watermark is raised by the expected size of the next save, so that the next save still fits
 * ("the save at epoch 16 succeeds") instead of being noticed after it failed.
 *
 * <p>Protected checkpoints never appear (they are not in the pressure order); when the candidates run
 * out before the target is met, the plan says so: {@link Plan#unresolved}.
 */
public final class PressurePlanner {
    private PressurePlanner() {
    }

    /**
     * One root on the filesystem: its configuration, this pass's retention decisions, and the bytes each of
     * its runs holds on disk. The decisions may leave out those pressure can never remove and that evict
     * nothing (protected, aliases, watch-only: see {@link RetentionPolicy#mayGoUnderPressure}), so that a
     * pass need not hold a decision for every checkpoint of a root; the run bytes still count them.
     *
     * @param runBytes run id to the bytes of all its present checkpoints
     */
    public record RootInput(RootConfig root, List<Decision> decisions, Map<String, Long> runBytes) {

        /** Every decision of the root: the run bytes are summed from them. */
        public RootInput(RootConfig root, List<Decision> decisions) {
            this(root, decisions, bytesByRun(decisions));
        }

        private static Map<String, Long> bytesByRun(List<Decision> decisions) {
            Map<String, Long> out = new LinkedHashMap<>();
            for (Decision d : decisions) {
                out.merge(d.checkpoint().run(), d.checkpoint().bytes(), Long::sum);
            }
            return out;
        }
    }

    /** A checkpoint to remove and why. */
    public record Planned(Registered checkpoint, EvictionCause cause, List<Reason> why) {
    }

    /**
     * @param evictions  everything to remove, policy evictions first, then pressure in order
     * @param unresolved root name to a sentence saying which limit cannot be met without touching what
     *                   is protected; empty when every limit is met
     */
    public record Plan(List<Planned> evictions, Map<String, String> unresolved) {
    }

    /**
     * @param fsSize       filesystem size in bytes
     * @param fsFree       bytes free now (usable by the agent's user)
     * @param nextSaveBytes headroom to keep for the next save beyond the watermark (0 for none)
     */
    /** Room kept beside the next save for the agent's own bookkeeping while it frees space (64 KiB). */
    public static final long WORKING_SPACE = 64L << 10;

    public static Plan plan(List<RootInput> roots, long fsSize, long fsFree, long nextSaveBytes) {
        List<Planned> out = new ArrayList<>();
        Set<Path> chosen = new HashSet<>();
        Map<String, String> unresolved = new LinkedHashMap<>();
        Map<String, Long> rootBytes = new HashMap<>();
        Map<String, Map<String, Long>> runBytes = new HashMap<>();
        List<Decision> all = new ArrayList<>();
        long freed = 0;
        for (RootInput in : roots) {
            String root = in.root().name();
            long total = 0;
            Map<String, Long> ofRoot = runBytes.computeIfAbsent(root, k -> new HashMap<>());
            for (Map.Entry<String, Long> run : in.runBytes().entrySet()) {
                total += run.getValue();
                ofRoot.merge(run.getKey(), run.getValue(), Long::sum);
            }
            for (Decision d : in.decisions()) {
                Registered c = d.checkpoint();
                // An eviction waiting out a configuration change's grace is still on disk: it counts
                // towards usage and is the first pressure candidate, but policy does not remove it yet.
                if (d.evictsNow() && chosen.add(c.path())) {
                    out.add(new Planned(c, EvictionCause.POLICY, d.reasons()));
                    freed += c.bytes();
                    total -= c.bytes();
                    runBytes.get(root).merge(c.run(), -c.bytes(), Long::sum);
                }
            }
            rootBytes.put(root, total);
            if (in.root().retention() != null) {
                all.addAll(in.decisions());
            }
        }
        // Runs over their own quota, then roots over theirs.
        for (RootInput in : roots) {
            Quota q = in.root().quota();
            if (q.runMaxBytes() == null || in.root().retention() == null) {
                continue;
            }
            String root = in.root().name();
            for (Map.Entry<String, Long> run : new ArrayList<>(runBytes.getOrDefault(root, Map.of()).entrySet())) {
                long over = run.getValue() - q.runMaxBytes();
                if (over <= 0) {
                    continue;
                }
                List<Decision> ofRun = in.decisions().stream().filter(d -> d.checkpoint().run().equals(run.getKey())).toList();
                long got = take(RetentionPolicy.pressureOrder(ofRun), over, EvictionCause.RUN_QUOTA,
                        "run " + run.getKey() + " over run_max_bytes " + q.runMaxBytes(), chosen, out);
                rootBytes.merge(root, -got, Long::sum);
                freed += got;
                if (got < over) {
                    unresolved.put(root, "run " + run.getKey() + " is " + (over - got) + " bytes over run_max_bytes and "
                            + "everything left is protected");
                }
            }
        }
        for (RootInput in : roots) {
            Quota q = in.root().quota();
            if (q.maxBytes() == null || in.root().retention() == null) {
                continue;
            }
            String root = in.root().name();
            long over = rootBytes.get(root) - q.maxBytes();
            if (over <= 0) {
                continue;
            }
            long got = take(RetentionPolicy.pressureOrder(in.decisions()), over, EvictionCause.QUOTA,
                    "root over max_bytes " + q.maxBytes(), chosen, out);
            freed += got;
            if (got < over) {
                unresolved.put(root, "root is " + (over - got) + " bytes over max_bytes and everything left is protected");
            }
        }
        // The filesystem: the strictest watermark of the roots that set one, plus room for the next save.
        long required = 0;
        boolean anyWatermark = false;
        for (RootInput in : roots) {
            DiskWatermark w = in.root().disk();
            if (w.minFree() != null || w.minFreeRatio() != null) {
                anyWatermark = true;
                required = Math.max(required, w.requiredFree(fsSize));
            }
        }
        if (anyWatermark) {
            // While a run saves, the agent may be evicting at the same moment; its trash manifest and
            // directory entries take a few blocks of their own until the eviction is done.
            long headroom = nextSaveBytes > 0 ? nextSaveBytes + WORKING_SPACE : 0;
            long short_ = required + headroom - (fsFree + freed);
            if (short_ > 0) {
                long got = take(RetentionPolicy.pressureOrder(all), short_, EvictionCause.DISK_PRESSURE, "free space below "
                        + required + " bytes + " + headroom + " for the next save", chosen, out);
                if (got < short_) {
                    for (RootInput in : roots) {
                        DiskWatermark w = in.root().disk();
                        if (w.minFree() != null || w.minFreeRatio() != null) {
                            unresolved.putIfAbsent(in.root().name(), "filesystem needs " + (short_ - got)
                                    + " more free bytes and everything left is protected");
                        }
                    }
                }
            }
        }
        return new Plan(out, unresolved);
    }

    private static long take(List<PressureCandidate> order, long need, EvictionCause reason, String why, Set<Path> chosen,
                             List<Planned> out) {
        long got = 0;
        for (PressureCandidate pc : order) {
            if (got >= need) {
                break;
            }
            Registered c = pc.checkpoint();
            if (!chosen.add(c.path())) {
                continue;
            }
            out.add(new Planned(c, reason, List.of(Reason.pressure(why), Reason.pressureTier(pc))));
            got += c.bytes();
        }
        return got;
    }

    /**
     * The size to keep free for the next save: the largest "typical size" (median of the last five
     * complete saves) among runs that saved within the last {@code activeWithin} of {@code now}.
     */
    public static long nextSaveBytes(List<Registered> checkpoints, java.time.Instant now, java.time.Duration activeWithin) {
        Map<String, List<Registered>> byRun = new HashMap<>();
        for (Registered c : checkpoints) {
            if (c.isComplete() && c.aliasOf() == null) {
                byRun.computeIfAbsent(c.root() + "\u0000" + c.run(), k -> new ArrayList<>()).add(c);
            }
        }
        long max = 0;
        for (List<Registered> run : byRun.values()) {
            List<Registered> newest = dev.ckptwarden.registry.Recency.newestFirst(run);
            if (newest.isEmpty() || newest.get(0).modified().isBefore(now.minus(activeWithin))) {
                continue;
            }
            max = Math.max(max, typicalSaveBytes(newest));
        }
        return max;
    }

    /** A run's typical save size: the median of its last five complete saves (one odd save does not count). */
    public static long typicalSaveBytes(List<Registered> completeSaves) {
        List<Registered> newest = dev.ckptwarden.registry.Recency.newestFirst(completeSaves);
        List<Long> sizes = new ArrayList<>();
        for (int i = 0; i < Math.min(5, newest.size()); i++) {
            sizes.add(newest.get(i).bytes());
        }
        sizes.sort(Long::compare);
        return sizes.isEmpty() ? 0 : sizes.get(sizes.size() / 2);
    }
}
