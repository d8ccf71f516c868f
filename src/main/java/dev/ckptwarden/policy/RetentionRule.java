package dev.ckptwarden.policy;

import dev.ckptwarden.config.KeepEvery;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One configured retention rule: which complete checkpoints of a run it keeps, and the reason it
 * gives for each. Rules only ever add reasons to keep; a checkpoint no rule and no protection keeps
 * is evictable. The protected set is decided before and apart from them ({@link ProtectedSet}).
 */
interface RetentionRule {

    /**
     * @param candidates the run's complete checkpoints that are not aliases of another one, newest first
     * @param now        the sweep's single reading of the clock
     * @return the reason for each checkpoint it keeps, by path
     */
    Map<Path, Reason> keeps(List<Registered> candidates, Instant now);

    /** The rules a retention block configures, in the order their reasons are listed. */
    static List<RetentionRule> of(Retention retention) {
        List<RetentionRule> rules = new ArrayList<>(5);
        if (retention.keepLast() != null) {
            rules.add(new KeepLastRule(retention.keepLast()));
        }
        if (retention.keepBest() != null) {
            rules.add(new KeepBestRule(retention.keepBest()));
        }
        KeepEvery every = retention.keepEvery();
        if (every != null && every.steps() != null) {
            rules.add(new MilestoneRule(MilestoneRule.Unit.STEP, every.steps()));
        }
        if (every != null && every.epochs() != null) {
            rules.add(new MilestoneRule(MilestoneRule.Unit.EPOCH, every.epochs()));
        }
        if (retention.keepWithin() != null) {
            rules.add(new KeepWithinRule(retention.keepWithin()));
        }
        return rules;
    }
}
