package dev.ckptwarden.enforce;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.ByteSize;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DurationText;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The running agent's {@code agent.policy_change_grace}: after a reload, the policy evictions that the
 * configuration in force before did not make wait the grace, announced in one log line and recorded in
 * {@link PolicyChangeFile} for {@code plan}, {@code enforce} and the API. Judged again after every
 * reload (an edit reverted cancels its evictions) and at the agent's start (a restart during a grace
 * keeps its times, but an edit made while the agent was stopped is not a change: there is no
 * configuration in force to compare with).
 */
public final class PolicyChangeGrace {
    private static final Logger log = LoggerFactory.getLogger(PolicyChangeGrace.class);

    private final Path stateDir;
    private final ZoneId zone;
    /** The configuration of the last judgement (a pass with another one follows a reload); null before the first. */
    private Config judgedWith;
    /** What waits, as last judged; null before the first pass. */
    private Map<String, Instant> pending;

    /**
     * @param stateDir where {@link PolicyChangeFile} lives
     * @param zone     the zone in which log lines and reasons print times
     */
    public PolicyChangeGrace(Path stateDir, ZoneId zone) {
        this.stateDir = stateDir;
        this.zone = zone;
    }

    /**
     * What waits now: judged afresh on the first call and whenever {@code cfg} is not the configuration
     * of the last call (a reload replaced it: every reload is compared with what was in force before it,
     * whatever happened in between), otherwise as last judged.
     *
     * @param cfg     the pass's configuration snapshot (compared by identity: a reload makes a new one)
     * @param present per root, the checkpoints present this pass (visited run by run, and only when a
     *                judgement is due); roots not in it keep their entries
     */
    public synchronized PolicyChange judge(Config cfg, Map<String, PresentRuns> present, Instant now) {
        Config from = judgedWith == cfg ? null : judgedWith;
        boolean first = judgedWith == null;
        judgedWith = cfg;
        if (!first && from == null) {
            if (!pending.isEmpty() && pending.values().stream().noneMatch(t -> t.isAfter(now))) {
                save(Map.of(), now); // every wait is over: nothing left to show or honour
            }
            return new PolicyChange(pending, zone);
        }
        Map<String, Instant> before = first ? load() : pending;
        Duration grace = cfg.agent().policyChangeGrace();
        // Judged run by run: each run's decisions are folded into what waits and let go of (a path is in one
        // run only, so folding run after run is judging them all at once).
        Map<String, Instant> next = PolicyChange.waiting(List.of(), null, before, now, grace);
        Map<String, Long> bytes = new LinkedHashMap<>();
        Set<String> keptNow = new HashSet<>();
        for (RootConfig root : cfg.roots()) {
            PresentRuns runs = present.get(root.name());
            if (runs == null || before.isEmpty() && (from == null || root.retention() == null)) {
                // Nothing waits, and nothing can start to: no configuration before this one to compare with, or
                // none of this root's checkpoints is evicted (watch-only). Its runs need not be read at all.
                continue;
            }
            RootConfig previous = from == null ? null : from.root(root.name());
            AtomicReference<Map<String, Instant>> folded = new AtomicReference<>(next);
            runs.forEachRun(run -> {
                List<Decision> after = RetentionPlan.decideRun(run, root, now, PolicyChange.NONE);
                folded.set(PolicyChange.waiting(after, from == null ? null : keptBy(previous, run, now), folded.get(), now,
                        grace));
                for (Decision d : after) {
                    String path = d.checkpoint().path().toString();
                    if (d.verdict() == Verdict.EVICT && folded.get().containsKey(path)) {
                        bytes.put(path, d.checkpoint().bytes()); // what the announcement of new waits adds up
                    } else if (d.verdict() == Verdict.KEEP && before.containsKey(path)) {
                        keptNow.add(path); // what a revert cancels
                    }
                }
            });
            next = folded.get();
        }
        announce(before, next, keptNow, bytes, now);
        if (!next.equals(before)) {
            save(next, now);
        } else {
            pending = next;
        }
        return new PolicyChange(next, zone);
    }

    /** Paths the previous configuration of a root kept of one run: all of them when it did not enforce retention there. */
    private static Set<String> keptBy(RootConfig previous, List<Registered> run, Instant now) {
        Set<String> kept = new HashSet<>();
        if (previous == null || previous.retention() == null || previous.action() == Action.REPORT) {
            run.forEach(c -> kept.add(c.path().toString()));
            return kept;
        }
        for (Decision d : RetentionPlan.decideRun(run, previous, now, PolicyChange.NONE)) {
            if (d.verdict() == Verdict.KEEP) {
                kept.add(d.checkpoint().path().toString());
            }
        }
        return kept;
    }

    /** One line for the evictions that start waiting, one for those a revert cancelled. */
    private void announce(Map<String, Instant> before, Map<String, Instant> next, Set<String> keptNow,
                          Map<String, Long> bytes, Instant now) {
        long count = 0;
        long size = 0;
        Instant at = null;
        for (Map.Entry<String, Instant> e : next.entrySet()) {
            Instant was = before.get(e.getKey());
            if (was == null || !was.isAfter(now)) {
                count++;
                size += bytes.getOrDefault(e.getKey(), 0L);
                at = at == null || e.getValue().isAfter(at) ? e.getValue() : at;
            }
        }
        if (count > 0) {
            log.warn("policy change: {} checkpoint(s), {}, will be evicted at {} (agent.policy_change_grace {}); "
                            + "'ckpt-warden plan' lists them", count, ByteSize.format(size), PolicyChange.at(at, now, zone),
                    DurationText.format(Duration.between(now, at)));
        }
        long cancelled = before.entrySet().stream()
                .filter(e -> e.getValue().isAfter(now) && keptNow.contains(e.getKey())).count();
        if (cancelled > 0) {
            log.info("policy change: {} waiting eviction(s) cancelled, the configuration keeps them again", cancelled);
        }
    }

    private Map<String, Instant> load() {
        try {
            return PolicyChangeFile.read(stateDir, zone).notBefore();
        } catch (IOException e) {
            log.warn("ignoring the recorded policy change ({}): evictions it delayed are judged afresh", e.getMessage());
            return Map.of();
        }
    }

    private void save(Map<String, Instant> next, Instant now) {
        pending = Map.copyOf(next);
        try {
            PolicyChangeFile.write(stateDir, next, now);
        } catch (IOException e) {
            // The agent still honours the wait; only other processes (plan, enforce) cannot see it.
            log.warn("policy change: {}; 'ckpt-warden plan' does not show the waiting evictions", e.getMessage());
        }
    }
}
