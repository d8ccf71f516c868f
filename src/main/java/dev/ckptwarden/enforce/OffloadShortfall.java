package dev.ckptwarden.enforce;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.ByteSize;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.PressureCandidate;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.registry.Registered;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pressure that offload did not relieve in an enforcement pass, and what the pass does about it
 * (issue #6: "offload never blocks local deletion under disk pressure").
 *
 * <p>An {@code action: offload} root frees space only once a checkpoint's remote copy is verified,
 * which can be slow (a bandwidth limit, a large checkpoint) or fail (an unreachable target), and it
 * never deletes what is not verified. So: roots that may delete are enforced first
 * ({@link #deletingFirst}); then the disk-pressure evictions an offload root planned and did not
 * complete are counted per filesystem, and roots with {@code action: delete} on the same filesystem
 * give that space instead, least valuable first ({@link #makeUp}), never touching what is protected.
 * Whatever is still missing after that makes the offload root's pressure unresolved, with a sentence
 * saying how much offload could not free and why ({@link #unresolved}), for the metric and the log.
 */
public final class OffloadShortfall {
    private static final Logger log = LoggerFactory.getLogger(OffloadShortfall.class);

    /** Enforces some evictions of one root; returns its report, or null when the root could not be enforced. */
    @FunctionalInterface
    public interface RootEnforcement {
        EnforcementReport enforce(RootConfig root, List<Eviction> evictions);
    }

    /**
     * What one pass did.
     *
     * @param reports    every report, first round and make-up round, in the order they were made
     * @param unresolved root name to why its pressure is unresolved after the pass (see {@link #unresolved})
     */
    public record Pass(List<EnforcementReport> reports, Map<String, String> unresolved) {
        public boolean removedAny() {
            return reports.stream().anyMatch(r -> r.items().stream().anyMatch(EnforcementReport.Item::removed));
        }
    }

    /**
     * One enforcement pass of {@code plan} over {@code roots} (those with retention): roots that may delete
     * first, then offload roots, then the make-up deletions for what offload did not free.
     */
    public static Pass enforce(EvictionPlan plan, List<RootConfig> roots, RootEnforcement run) {
        List<EnforcementReport> all = new ArrayList<>();
        Map<String, EnforcementReport> first = new LinkedHashMap<>();
        for (RootConfig r : deletingFirst(roots)) {
            EnforcementReport report = run.enforce(r, plan.evictions(r.name()));
            if (report != null) {
                first.put(r.name(), report);
                all.add(report);
            }
        }
        OffloadShortfall shortfall = of(plan, roots, first);
        Map<String, EnforcementReport> madeUp = new LinkedHashMap<>();
        for (RootConfig r : roots) {
            List<Eviction> more = shortfall.makeUp().get(r.name());
            if (more == null) {
                continue;
            }
            log.warn("root {}: disk pressure: offload roots on its filesystem could not free {} in time; deleting {} "
                    + "more checkpoint(s) here, least valuable first", r.name(),
                    ByteSize.format(shortfall.missingBytes().values().stream().mapToLong(Long::longValue).sum()),
                    more.size());
            EnforcementReport report = run.enforce(r, more);
            if (report != null) {
                madeUp.put(r.name(), report);
                all.add(report);
            }
        }
        return new Pass(all, shortfall.unresolved(madeUp));
    }

    private final EvictionPlan plan;
    private final Map<String, RootConfig> roots = new LinkedHashMap<>();
    /** Offload root to its pressure evictions left undone in the first round. */
    private final Map<String, List<EnforcementReport.Item>> undone = new LinkedHashMap<>();
    private final Map<String, List<Eviction>> makeUp = new LinkedHashMap<>();
    /** Filesystem name to the bytes disk pressure still wants from its offload roots. */
    private final Map<String, Long> missing = new LinkedHashMap<>();

    private OffloadShortfall(EvictionPlan plan, List<RootConfig> roots) {
        this.plan = plan;
        roots.forEach(r -> this.roots.put(r.name(), r));
    }

    /**
     * The order to enforce roots in: every root that may delete before every offload root (otherwise
     * in configuration order), so that a slow or failing copy never holds up a deletion that policy
     * allows.
     */
    public static List<RootConfig> deletingFirst(List<RootConfig> roots) {
        List<RootConfig> out = new ArrayList<>();
        roots.stream().filter(r -> r.action() != Action.OFFLOAD).forEach(out::add);
        roots.stream().filter(r -> r.action() == Action.OFFLOAD).forEach(out::add);
        return out;
    }

    /**
     * Reads what the first round of enforcement left undone.
     *
     * @param reports each enforced root's report, by root name (a root that failed as a whole is absent)
     */
    public static OffloadShortfall of(EvictionPlan plan, List<RootConfig> roots, Map<String, EnforcementReport> reports) {
        OffloadShortfall s = new OffloadShortfall(plan, roots);
        Set<Path> planned = new HashSet<>();
        for (RootConfig r : roots) {
            plan.evictions(r.name()).forEach(e -> planned.add(e.checkpoint().path()));
        }
        for (RootConfig r : roots) {
            EnforcementReport report = reports.get(r.name());
            if (r.action() != Action.OFFLOAD || report == null || report.dryRun()) {
                continue;
            }
            List<EnforcementReport.Item> left = new ArrayList<>();
            for (EnforcementReport.Item item : report.items()) {
                if (item.cause() != EvictionCause.POLICY && !item.removed()) {
                    left.add(item);
                }
            }
            if (!left.isEmpty()) {
                s.undone.put(r.name(), left);
            }
        }
        for (Map.Entry<String, EvictionPlan.Filesystem> fs : plan.filesystems().entrySet()) {
            long want = 0;
            for (String root : fs.getValue().roots()) {
                for (EnforcementReport.Item item : s.undone.getOrDefault(root, List.of())) {
                    if (item.cause() == EvictionCause.DISK_PRESSURE) {
                        want += item.bytes();
                    }
                }
            }
            if (want > 0) {
                s.missing.put(fs.getKey(), want);
                s.planMakeUp(fs.getValue(), want, planned);
            }
        }
        return s;
    }

    private void planMakeUp(EvictionPlan.Filesystem fs, long want, Set<Path> planned) {
        List<Decision> decisions = new ArrayList<>();
        for (String name : fs.roots()) {
            RootConfig r = roots.get(name);
            if (r != null && r.action() == Action.DELETE && r.retention() != null) {
                decisions.addAll(plan.retention(name).decisions());
            }
        }
        String why = "offload could not free " + ByteSize.format(want) + " in time; deleted from a root with action: delete";
        long got = 0;
        for (PressureCandidate pc : RetentionPolicy.pressureOrder(decisions)) {
            if (got >= want) {
                break;
            }
            Registered c = pc.checkpoint();
            if (!planned.add(c.path())) {
                continue;
            }
            makeUp.computeIfAbsent(c.root(), k -> new ArrayList<>())
                    .add(new Eviction(c, EvictionCause.DISK_PRESSURE, List.of(Reason.pressure(why), Reason.pressureTier(pc))));
            got += c.bytes();
        }
    }

    /** Extra disk-pressure evictions for roots with {@code action: delete}, by root name; empty when none are needed. */
    public Map<String, List<Eviction>> makeUp() {
        return makeUp;
    }

    /**
     * Root name to why its pressure is unresolved after the pass: the plan's own reasons (protected
     * checkpoints), and for offload roots what offload left undone that the make-up round did not cover.
     *
     * @param madeUp the reports of enforcing {@link #makeUp()}, by root name
     */
    public Map<String, String> unresolved(Map<String, EnforcementReport> madeUp) {
        Map<String, String> out = new TreeMap<>(plan.unresolved());
        Map<String, Long> coveredByFs = new LinkedHashMap<>();
        for (Map.Entry<String, EvictionPlan.Filesystem> fs : plan.filesystems().entrySet()) {
            long freed = 0;
            for (String root : fs.getValue().roots()) {
                EnforcementReport r = madeUp.get(root);
                if (r != null) {
                    freed += r.items().stream().filter(EnforcementReport.Item::removed)
                            .mapToLong(EnforcementReport.Item::bytes).sum();
                }
            }
            coveredByFs.put(fs.getKey(), freed);
        }
        for (Map.Entry<String, List<EnforcementReport.Item>> e : undone.entrySet()) {
            String root = e.getKey();
            String fs = filesystemOf(root);
            long pressure = 0;
            long quota = 0;
            for (EnforcementReport.Item item : e.getValue()) {
                if (item.cause() == EvictionCause.DISK_PRESSURE) {
                    pressure += item.bytes();
                } else {
                    quota += item.bytes();
                }
            }
            long covered = fs == null ? 0 : Math.min(pressure, coveredByFs.getOrDefault(fs, 0L));
            List<String> parts = new ArrayList<>();
            if (pressure > covered) {
                parts.add("disk pressure needs space faster than offload frees it: " + ByteSize.format(pressure)
                        + " of pressure evictions not offloaded" + (covered > 0 ? " (" + ByteSize.format(covered)
                        + " deleted from action: delete roots instead)" : ""));
            }
            if (quota > 0) {
                parts.add("quota: " + ByteSize.format(quota) + " of quota evictions not offloaded");
            }
            if (parts.isEmpty()) {
                continue;
            }
            String sentence = String.join("; ", parts) + " (" + outcomes(e.getValue()) + "); action: offload deletes "
                    + "nothing that is not verified at the target (action: delete would allow it)";
            out.merge(root, sentence, (a, b) -> a + "; " + b);
        }
        return out;
    }

    /** How much disk pressure the offload roots of each filesystem left undone, before any make-up. */
    public Map<String, Long> missingBytes() {
        return missing;
    }

    private String filesystemOf(String root) {
        for (Map.Entry<String, EvictionPlan.Filesystem> fs : plan.filesystems().entrySet()) {
            if (fs.getValue().roots().contains(root)) {
                return fs.getKey();
            }
        }
        return null;
    }

    /** "failed:offload unreachable ×2, skipped:changed since planned ×1". */
    private static String outcomes(List<EnforcementReport.Item> items) {
        Map<String, Integer> n = new TreeMap<>();
        items.forEach(i -> n.merge(i.outcome(), 1, Integer::sum));
        List<String> parts = new ArrayList<>();
        n.forEach((outcome, count) -> parts.add(outcome + " \u00d7" + count));
        return String.join(", ", parts);
    }
}
