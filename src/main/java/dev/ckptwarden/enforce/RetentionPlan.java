package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;

import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

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
        return of(registry, root, run, now, PolicyChange.NONE);
    }

    /** As above, with the evictions a configuration change brought waiting until their time. */
    public static RetentionPlan of(Registry registry, RootConfig root, String run, Instant now, PolicyChange change) {
        return of(registry.list(root.name(), run, false), root, run, now, change);
    }

    /**
     * The plan for checkpoints already in hand (the running agent's view of what is present), in the
     * registry's order: by run, then as the registry lists a run.
     */
    public static RetentionPlan of(List<Registered> present, RootConfig root, String run, Instant now) {
        return of(present, root, run, now, PolicyChange.NONE);
    }

    /** As above, with the evictions a configuration change brought waiting until their time. */
    public static RetentionPlan of(List<Registered> present, RootConfig root, String run, Instant now,
                                   PolicyChange change) {
        List<Registered> ofRoot = new ArrayList<>();
        for (Registered c : present) {
            if (root.name().equals(c.root()) && (run == null || run.equals(c.run()))) {
                ofRoot.add(c);
            }
        }
        List<Decision> out = new ArrayList<>();
        PresentRuns.of(ofRoot).forEachRun(checkpoints -> out.addAll(decideRun(checkpoints, root, now, change)));
        return new RetentionPlan(root.name(), out);
    }

    /**
     * Retention's decisions for one run of a root, newest first, with the evictions a configuration change
     * brought waiting until their time: what a pass decides for a run before it moves on to the next.
     *
     * @param run the run's present checkpoints (all of one run of {@code root})
     */
    public static List<Decision> decideRun(List<Registered> run, RootConfig root, Instant now, PolicyChange change) {
        if (run.isEmpty()) {
            return List.of();
        }
        return change.apply(RetentionPolicy.decide(run, RetentionPolicy.effectiveRetention(root, run.get(0).run()), now,
                c -> !RemoteLocation.isRemote(c.path()) && Files.isSymbolicLink(c.path())), now);
    }

    /**
     * The evicted decisions as evictions for reason {@value Eviction#POLICY}, in plan order; those waiting
     * out a configuration change's grace are not among them yet.
     */
    public List<Eviction> evictions() {
        List<Eviction> out = new ArrayList<>();
        for (Decision d : decisions) {
            if (d.evictsNow()) {
                out.add(new Eviction(d.checkpoint(), EvictionCause.POLICY, d.reasons()));
            }
        }
        return out;
    }

    /** Total size of what the plan evicts, now or when a configuration change's grace ends. */
    public long evictBytes() {
        return decisions.stream().filter(d -> d.verdict() == Verdict.EVICT).mapToLong(d -> d.checkpoint().bytes()).sum();
    }
}
