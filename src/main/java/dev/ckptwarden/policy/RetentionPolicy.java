package dev.ckptwarden.policy;

import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RetentionOverride;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Recency;
import dev.ckptwarden.registry.Registered;
import java.nio.file.FileSystems;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.PatternSyntaxException;

/**
 * Retention as a pure function: which checkpoints of a run to keep and which to evict, and why; and,
 * under quota or disk pressure, in which order the kept ones may still go. No I/O, no clock of its
 * own ({@code now} is passed in), no logging; equal inputs in any order give equal outputs.
 *
 * <p><b>Order of judgement.</b> The protected set ({@link ProtectedSet}) is decided first and no rule
 * can undo it. Then each configured rule adds its reasons: {@code keep_last}, {@code keep_best},
 * {@code keep_every} (reasons say {@code milestone}), {@code keep_within}. A checkpoint is kept if it
 * is protected or any rule keeps it; the rest are evicted. Rules consider complete checkpoints only
 * (anything writing or corrupt is protected anyway). "Newest" is {@link Recency}: most recently
 * completed (the registry's completion time, then modification time, then the names' counters), a
 * total order; the complete checkpoint with the highest step is protected as well where it is not the
 * newest.
 *
 * <p><b>Aliases.</b> A checkpoint whose {@code aliasOf} names another checkpoint of the same run
 * ({@code last.ckpt} as a copy or a symbolic link, DeepSpeed's {@code latest}) is a second name for
 * that checkpoint, not a checkpoint of its own: it takes no {@code keep_last} or {@code keep_best}
 * slot, cannot be "newest" or "best", and is kept exactly when its target is kept, with the reason
 * {@code alias of <target name>}. Every alias target is protected, so in practice an alias whose
 * target is present is always kept: a resume script reading {@code last.ckpt} must never find it
 * gone, or dangling. An alias that is itself a symbolic link is never evicted (and the enforcement
 * layer refuses to delete through links anyway). An alias whose target is not among the run's
 * checkpoints (deleted by hand, a link to another machine's path) is judged as an ordinary checkpoint
 * when it is known to be a copy, since it may hold the only remaining bytes; when link status is
 * unknown (the three-argument {@link #decide(List, Retention, Instant)}) it is protected, the safe side.
 * Symbolic links, and aliases protected for that reason, take no rule slots and are never "newest"
 * or "best": a link holds no bytes of its own, and a slot it took would evict a real checkpoint.
 *
 * <p><b>Watch-only.</b> A null retention (a root without {@code retention:}) keeps everything with the
 * single reason {@code watch-only root}; such decisions never become pressure candidates.
 */
public final class RetentionPolicy {

    private RetentionPolicy() {
    }

    /**
     * One decision per checkpoint of ONE run, newest first. Which checkpoints are symbolic links is
     * not known here, so every alias whose target is absent is protected (see the class comment).
     *
     * @param runCheckpoints the run's checkpoints in present states (writing, complete, corrupt), any order
     * @param effective      the run's effective retention ({@link #effectiveRetention}), null for watch-only
     * @param now            the sweep's single reading of the clock
     * @throws IllegalArgumentException if the checkpoints span several runs, repeat a path, are not
     *                                  present, or the retention holds a negative count
     */
    public static List<Decision> decide(List<Registered> runCheckpoints, Retention effective, Instant now) {
        return judge(runCheckpoints, effective, now, null);
    }

    /**
     * As {@link #decide(List, Retention, Instant)}, with link status known: the caller (which may do
     * I/O) says which checkpoints are symbolic links. Those are protected ({@code protected: symbolic
     * link}); an alias known to be a copy whose target is absent is judged as an ordinary checkpoint.
     */
    public static List<Decision> decide(List<Registered> runCheckpoints, Retention effective, Instant now,
            Predicate<Registered> symbolicLink) {
        return judge(runCheckpoints, effective, now, Objects.requireNonNull(symbolicLink, "symbolicLink"));
    }

    private static List<Decision> judge(List<Registered> runCheckpoints, Retention effective, Instant now,
            Predicate<Registered> symbolicLink) {
        Objects.requireNonNull(now, "now");
        validateOneRun(runCheckpoints);
        List<Registered> newestFirst = Recency.newestFirst(runCheckpoints);
        if (effective == null) {
            return newestFirst.stream().map(c -> new Decision(c, Verdict.KEEP, List.of(Reason.WATCH_ONLY))).toList();
        }
        List<RetentionRule> rules = RetentionRule.of(effective);
        if (effective.keepBest() != null) {
            KeepBestRule.validate(effective.keepBest());
        }

        Map<Path, Registered> byPath = new HashMap<>();
        for (Registered c : newestFirst) {
            byPath.put(c.path(), c);
        }
        Map<Path, Registered> aliasTargets = new HashMap<>();
        for (Registered c : newestFirst) {
            Registered target = c.aliasOf() == null ? null : byPath.get(c.aliasOf());
            if (target != null && !target.path().equals(c.path())) {
                aliasTargets.put(c.path(), target);
            }
        }
        List<Registered> candidates = newestFirst.stream()
                .filter(c -> c.isComplete() && !aliasTargets.containsKey(c.path()))
                .filter(c -> symbolicLink == null ? c.aliasOf() == null : !symbolicLink.test(c))
                .toList();

        Map<Path, List<Reason>> reasons =
                ProtectedSet.reasons(newestFirst, candidates, aliasTargets, effective.keepBest(), symbolicLink);
        for (RetentionRule rule : rules) {
            rule.keeps(candidates, now).forEach((path, reason) -> reasons.get(path).add(reason));
        }
        for (Map.Entry<Path, Registered> alias : aliasTargets.entrySet()) {
            reasons.get(alias.getKey()).add(Reason.aliasOf(alias.getValue().name()));
        }

        List<Decision> decisions = new ArrayList<>(newestFirst.size());
        for (Registered c : newestFirst) {
            List<Reason> why = reasons.get(c.path());
            decisions.add(why.isEmpty()
                    ? new Decision(c, Verdict.EVICT, List.of(Reason.EVICTABLE))
                    : new Decision(c, Verdict.KEEP, why));
        }
        return decisions;
    }

    private static void validateOneRun(List<Registered> checkpoints) {
        Set<Path> seen = new HashSet<>();
        Registered first = null;
        for (Registered c : checkpoints) {
            Objects.requireNonNull(c, "checkpoint");
            Objects.requireNonNull(c.path(), "checkpoint path");
            Objects.requireNonNull(c.modified(), () -> "modification time of " + c.path());
            if (c.state() == null || !c.state().present()) {
                throw new IllegalArgumentException("retention judges present checkpoints only, not "
                        + (c.state() == null ? "null" : c.state().id()) + ": " + c.path());
            }
            if (!seen.add(c.path())) {
                throw new IllegalArgumentException("checkpoint listed twice: " + c.path());
            }
            if (first == null) {
                first = c;
            } else if (!Objects.equals(first.root(), c.root()) || !Objects.equals(first.run(), c.run())) {
                throw new IllegalArgumentException("retention judges one run at a time, got " + first.root() + ":"
                        + first.run() + " and " + c.root() + ":" + c.run());
            }
        }
    }

    /**
     * The run's effective {@code keep_best} (overrides applied): what "best" means for {@code resolve},
     * the API and the best-metric gauge. Null for a watch-only root, a root without keep_best, no root
     * at all, or an override glob the configuration check should have refused.
     */
    public static KeepBest keepBest(RootConfig root, String runId) {
        if (root == null) {
            return null;
        }
        try {
            Retention r = effectiveRetention(root, runId);
            return r == null ? null : r.keepBest();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The run's effective retention: the root's retention overlaid ({@link Retention#overlay}) by the
     * most specific override whose glob matches the run id, or the root's retention when none
     * matches. Only one override applies; they do not stack. Globs follow
     * {@code java.nio.file.PathMatcher} "glob:" syntax on the run id as a path, so {@code llada8b/**}
     * matches {@code llada8b/sft} but not {@code llada8b} itself. "Most specific" is
     * {@link GlobSpecificity}: more literal characters, then fewer wildcards, then later in the list.
     *
     * @return null when the root has no retention (watch-only); overrides never turn deletion on there
     * @throws IllegalArgumentException naming the root and entry when an override's glob is invalid
     */
    public static Retention effectiveRetention(RootConfig root, String runId) {
        if (root.retention() == null) {
            return null;
        }
        Path run;
        try {
            run = Path.of(runId);
        } catch (InvalidPathException e) {
            return root.retention();
        }
        RetentionOverride chosen = null;
        GlobSpecificity chosenSpecificity = null;
        List<RetentionOverride> overrides = root.overrides();
        for (int i = 0; i < overrides.size(); i++) {
            RetentionOverride o = overrides.get(i);
            if (!matcher(root, i, o.match()).matches(run)) {
                continue;
            }
            GlobSpecificity s = GlobSpecificity.of(o.match());
            // ">= 0": on equal specificity the later entry wins.
            if (chosen == null || GlobSpecificity.LEAST_TO_MOST.compare(s, chosenSpecificity) >= 0) {
                chosen = o;
                chosenSpecificity = s;
            }
        }
        return chosen == null ? root.retention() : root.retention().overlay(chosen.retention());
    }

    private static PathMatcher matcher(RootConfig root, int index, String glob) {
        try {
            return FileSystems.getDefault().getPathMatcher("glob:" + glob);
        } catch (IllegalArgumentException e) {
            // PatternSyntaxException's own message spans lines (pattern, caret); keep the error on one line.
            String why = e instanceof PatternSyntaxException p
                    ? p.getDescription() + " near index " + p.getIndex() : e.getMessage();
            throw new IllegalArgumentException("root " + root.name() + ": overrides[" + index + "].match: invalid glob \""
                    + glob + "\": " + why, e);
        }
    }

    /**
     * What quota or free-space pressure may remove beyond policy, least valuable first: evicted ones
     * (oldest first), then those kept only by {@code keep_within} (oldest first), then milestones
     * (oldest first), then {@code keep_last} (oldest first), then {@code keep_best} (worst first). A
     * checkpoint kept by several rules belongs to the most valuable tier among them. Protected
     * checkpoints, aliases of a present target, watch-only decisions and decisions kept for a reason
     * this class did not write never appear.
     *
     * <p>Decisions may come from several runs (a root quota): each run's sequence keeps its own order
     * ({@link Recency} for age, keep_best rank for worth) and the runs are interleaved within a
     * tier by modification time, oldest first; in the keep_best tier by rank, worst first, then by
     * modification time.
     */
    public static List<PressureCandidate> pressureOrder(List<Decision> decisions) {
        Map<List<String>, List<Decision>> byRun = new TreeMap<>(Comparator.comparing((List<String> k) -> k.get(0))
                .thenComparing(k -> k.get(1)));
        Set<Path> seen = new HashSet<>();
        for (Decision d : decisions) {
            if (!seen.add(d.checkpoint().path())) {
                throw new IllegalArgumentException("checkpoint listed twice: " + d.checkpoint().path());
            }
            byRun.computeIfAbsent(runKey(d.checkpoint()), k -> new ArrayList<>()).add(d);
        }

        Map<String, List<List<Ranked>>> tiers = new LinkedHashMap<>();
        for (String tier : List.of(PressureCandidate.EVICTABLE, PressureCandidate.KEEP_WITHIN,
                PressureCandidate.MILESTONE, PressureCandidate.KEEP_LAST, PressureCandidate.KEEP_BEST)) {
            tiers.put(tier, new ArrayList<>());
        }
        for (List<Decision> run : byRun.values()) {
            Map<Path, Decision> byPath = new HashMap<>();
            run.forEach(d -> byPath.put(d.checkpoint().path(), d));
            Map<String, List<Ranked>> runTiers = new HashMap<>();
            int age = 0;
            for (Registered c : Recency.oldestFirst(run.stream().map(Decision::checkpoint).toList())) {
                Decision d = byPath.get(c.path());
                String tier = pressureTier(d);
                if (tier != null) {
                    int worth = PressureCandidate.KEEP_BEST.equals(tier) ? bestRank(d) : 0;
                    runTiers.computeIfAbsent(tier, t -> new ArrayList<>()).add(new Ranked(c, worth, age));
                }
                age++;
            }
            runTiers.forEach((tier, list) -> {
                if (PressureCandidate.KEEP_BEST.equals(tier)) {
                    list.sort(Comparator.comparingInt(Ranked::bestRank).reversed()
                            .thenComparingInt(Ranked::age));
                }
                tiers.get(tier).add(list);
            });
        }

        List<PressureCandidate> order = new ArrayList<>();
        tiers.forEach((tier, runs) -> {
            Comparator<Ranked> first = PressureCandidate.KEEP_BEST.equals(tier)
                    ? Comparator.comparingInt(Ranked::bestRank).reversed().thenComparing(Ranked::checkpoint, ACROSS_RUNS)
                    : Comparator.comparing(Ranked::checkpoint, ACROSS_RUNS);
            for (Ranked r : mergeRuns(runs, first)) {
                order.add(new PressureCandidate(r.checkpoint(), tier));
            }
        });
        return order;
    }

    private static final Comparator<Registered> ACROSS_RUNS = Comparator.comparing(Registered::modified)
            .thenComparing(c -> String.valueOf(c.root()))
            .thenComparing(c -> String.valueOf(c.run()))
            .thenComparing(c -> c.path().toString());

    /** A pressure candidate with its place in its run: keep_best rank (1 = best) and age (0 = oldest). */
    private record Ranked(Registered checkpoint, int bestRank, int age) {
    }

    private static List<String> runKey(Registered c) {
        return List.of(String.valueOf(c.root()), String.valueOf(c.run()));
    }

    /** Merges per-run sequences, each already in removal order, taking the head that {@code first} puts first. */
    private static List<Ranked> mergeRuns(List<List<Ranked>> runs, Comparator<Ranked> first) {
        List<Ranked> out = new ArrayList<>();
        int[] next = new int[runs.size()];
        while (true) {
            int pick = -1;
            for (int r = 0; r < runs.size(); r++) {
                if (next[r] < runs.get(r).size()
                        && (pick < 0 || first.compare(runs.get(r).get(next[r]), runs.get(pick).get(next[pick])) < 0)) {
                    pick = r;
                }
            }
            if (pick < 0) {
                return out;
            }
            out.add(runs.get(pick).get(next[pick]++));
        }
    }

    /**
     * Whether quota or disk pressure could ever remove what this decision keeps (or evicts): false for the
     * protected, aliases of a present target, watch-only decisions and reasons this class did not write,
     * which {@link #pressureOrder} never lists.
     */
    public static boolean mayGoUnderPressure(Decision d) {
        return pressureTier(d) != null;
    }

    /** The tier a decision falls in under pressure, or null when pressure must never remove it. */
    private static String pressureTier(Decision d) {
        boolean untouchable = d.reasons().stream().anyMatch(r -> r.isProtection()
                || r.rule() == Reason.Rule.ALIAS_OF || r.rule() == Reason.Rule.WATCH_ONLY);
        if (untouchable) {
            return null;
        }
        if (d.verdict() == Verdict.EVICT) {
            return PressureCandidate.EVICTABLE;
        }
        int best = -1;
        for (Reason r : d.reasons()) {
            best = Math.max(best, Reason.RULE_TIERS.indexOf(r.rule()));
        }
        return best < 0 ? null : Reason.RULE_TIERS.get(best).tier();
    }

    private static int bestRank(Decision d) {
        return d.reasons().stream().filter(r -> r.rule() == Reason.Rule.KEEP_BEST).mapToInt(Reason::rank)
                .min().orElse(Integer.MAX_VALUE);
    }
}
