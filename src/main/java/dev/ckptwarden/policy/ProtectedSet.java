package dev.ckptwarden.policy;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.registry.BestCheckpoint;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Resolver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The checkpoints of a run that nothing may remove, whatever the configuration says, with the reason
 * for each. Checked before any rule, and never overridable:
 * <ol>
 *   <li>{@code protected: pinned (reason)}</li>
 *   <li>{@code protected: newest complete} and {@code protected: newest resumable} (resumable means
 *       known to carry optimizer state; unknown does not count), newest meaning most recently
 *       completed ({@link dev.ckptwarden.registry.Recency}); and {@code protected: highest step} for the
 *       complete one with the highest step where that is another (a run restarted from step 0 in the
 *       same directory: its new saves are the newest, the old run's furthest one is kept too)</li>
 *   <li>{@code protected: best val_loss=0.1234} by the run's {@code keep_best} metric (none without
 *       keep_best), the same one {@code resolve best} names ({@link BestCheckpoint}), and
 *       {@code protected: alias target of last.ckpt} for every alias target</li>
 *   <li>{@code protected: named best by checkpoint-500}: the checkpoints the run's newest checkpoint
 *       names as best (HF {@code best_model_checkpoint}, Lightning {@code best_model_path}), so that
 *       {@code load_best_model_at_end} and "resume from best" still find them</li>
 *   <li>{@code protected: writing}, {@code protected: corrupt}</li>
 *   <li>{@code protected: symbolic link}; when link status is unknown, an alias whose target is not
 *       among the run's checkpoints gets {@code protected: dangling alias, may be a symbolic link}</li>
 * </ol>
 */
final class ProtectedSet {

    static final Reason NEWEST_COMPLETE = Reason.protection("newest complete");
    static final Reason NEWEST_RESUMABLE = Reason.protection("newest resumable");
    static final Reason HIGHEST_STEP = Reason.protection("highest step");
    static final Reason WRITING = Reason.protection("writing");
    static final Reason CORRUPT = Reason.protection("corrupt");
    static final Reason SYMBOLIC_LINK = Reason.protection("symbolic link");
    static final Reason DANGLING_ALIAS = Reason.protection("dangling alias, may be a symbolic link");

    private ProtectedSet() {
    }

    /** Of the complete checkpoints with a step, the one with the highest; of equals, the newest. Null when none has a step. */
    static Registered highestStep(List<Registered> newestFirst) {
        Registered highest = null;
        for (Registered c : newestFirst) {
            if (c.step() != null && (highest == null || c.step() > highest.step())) {
                highest = c;
            }
        }
        return highest;
    }

    /**
     * @param newestFirst  every checkpoint of the run, newest first
     * @param candidates   its complete checkpoints that are not aliases of a present checkpoint, newest first
     * @param aliasTargets for each alias whose target is present (by alias path), that target
     * @param keepBest     the run's keep_best rule, or null
     * @param symbolicLink which checkpoints are symbolic links, or null when that is unknown
     * @return protection reasons for every checkpoint of the run (empty when unprotected), by path
     */
    static Map<Path, List<Reason>> reasons(List<Registered> newestFirst, List<Registered> candidates,
            Map<Path, Registered> aliasTargets, KeepBest keepBest, Predicate<Registered> symbolicLink) {
        Map<Path, List<Reason>> reasons = new LinkedHashMap<>();
        for (Registered c : newestFirst) {
            reasons.put(c.path(), new ArrayList<>());
        }
        for (Registered c : newestFirst) {
            if (c.pinned()) {
                String why = c.pinReason() == null || c.pinReason().isBlank() ? "" : " (" + c.pinReason() + ")";
                reasons.get(c.path()).add(Reason.protection("pinned" + why));
            }
        }
        if (!candidates.isEmpty()) {
            reasons.get(candidates.get(0).path()).add(NEWEST_COMPLETE);
            Registered highest = highestStep(candidates);
            if (highest != null && highest != candidates.get(0)) {
                reasons.get(highest.path()).add(HIGHEST_STEP);
            }
        }
        candidates.stream().filter(c -> Boolean.TRUE.equals(c.resumable())).findFirst()
                .ifPresent(c -> reasons.get(c.path()).add(NEWEST_RESUMABLE));
        // The same best as `resolve best` (BestCheckpoint). Protected by keep_best only (SPEC "Retention
        // semantics" 3); without it the framework's record is protected below as "named best by", and
        // a metric merely inferred from names protects nothing.
        BestCheckpoint.Choice best = keepBest == null ? null
                : BestCheckpoint.choose(candidates, newestFirst, Resolver.Metric.of(keepBest));
        if (best != null && best.checkpoint() != null) {
            reasons.get(best.checkpoint().path()).add(Reason.protection("best "
                    + Reason.metric(best.metric().name(), best.checkpoint().metrics().get(best.metric().name()))));
        }
        newestFirst.stream()
                .filter(c -> aliasTargets.containsKey(c.path()))
                .sorted(Comparator.comparing(Registered::name).thenComparing(c -> c.path().toString()))
                .forEach(alias -> reasons.get(aliasTargets.get(alias.path()).path())
                        .add(Reason.protection("alias target of " + alias.name())));
        // The newest word on which checkpoint is best: older checkpoints' pointers are superseded.
        newestFirst.stream().filter(c -> !c.references().isEmpty()).findFirst().ifPresent(namer -> {
            for (Path target : namer.references()) {
                List<Reason> own = reasons.get(target);
                if (own != null && !target.equals(namer.path())) {
                    own.add(Reason.protection("named best by " + namer.name()));
                }
            }
        });
        for (Registered c : newestFirst) {
            List<Reason> own = reasons.get(c.path());
            if (c.state() == CheckpointState.WRITING) {
                own.add(WRITING);
            } else if (c.state() == CheckpointState.CORRUPT) {
                own.add(CORRUPT);
            }
            if (symbolicLink != null && symbolicLink.test(c)) {
                own.add(SYMBOLIC_LINK);
            } else if (symbolicLink == null && c.aliasOf() != null && !aliasTargets.containsKey(c.path())) {
                own.add(DANGLING_ALIAS);
            }
        }
        return reasons;
    }
}
