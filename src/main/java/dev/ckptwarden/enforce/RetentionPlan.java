package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.Registry;

import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What retention decides for one root now, run by run, with every reason, and the evictions that
 * follow from it: the planner that {@code plan}, {@code enforce} and the agent share. Reads the
 * registry and lstat's each checkpoint (a symbolic link is protected); changes nothing.
 *
 * @param decisions per run (in the registry's run order), newest first within a run
 */
public record RetentionPlan(String root, List<Decision> decisions) {

    public RetentionPlan {
        decisions = List.copyOf(decisions);
    }

    /**
     * Plans a root, or one run of it.
     *
     * @param run a run id, or null for every run of the root
     */
    public static RetentionPlan of(Registry registry, RootConfig root, String run, Instant now) {
        Map<String, List<Checkpoint>> byRun = new LinkedHashMap<>();
        for (Checkpoint c : registry.list(root.name(), run, false)) {
            byRun.computeIfAbsent(c.run(), r -> new ArrayList<>()).add(c);
        }
        List<Decision> out = new ArrayList<>();
        byRun.forEach((runId, checkpoints) -> out.addAll(RetentionPolicy.decide(checkpoints,
                RetentionPolicy.effectiveRetention(root, runId), now, c -> !RemoteLocation.isRemote(c.path()) && Files.isSymbolicLink(c.path()))));
        return new RetentionPlan(root.name(), out);
    }

    /** The evicted decisions as evictions for reason {@value Eviction#POLICY}, in plan order. */
    public List<Eviction> evictions() {
        List<Eviction> out = new ArrayList<>();
        for (Decision d : decisions) {
            if (d.verdict() == Verdict.EVICT) {
                out.add(new Eviction(d.checkpoint(), Eviction.POLICY, d.reasons()));
            }
        }
        return out;
    }

    /** Total size of what the plan evicts. */
    public long evictBytes() {
        return decisions.stream().filter(d -> d.verdict() == Verdict.EVICT).mapToLong(d -> d.checkpoint().bytes()).sum();
    }
}
