package dev.ckptwarden.policy;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The evictions a configuration change brought that still wait out {@code agent.policy_change_grace}:
 * checkpoint path to the instant before which retention does not evict it. Applied to retention's
 * decisions they stay evictions (so {@code plan} lists them, with their time) but are not acted on
 * before then; quota and disk pressure may still take them at once. Pure: the map, the zone used to
 * print times and {@code now} are inputs.
 *
 * @param notBefore checkpoint path (as {@code Path.toString()}) to the instant its eviction may happen
 * @param zone      the zone in which reasons print that instant
 */
public record PolicyChange(Map<String, Instant> notBefore, ZoneId zone) {
    /** No change pending: every eviction happens at once. */
    public static final PolicyChange NONE = new PolicyChange(Map.of(), ZoneOffset.UTC);
    /** The reason a waiting eviction carries, followed by its time. */
    public static final String REASON = "policy change grace: evicted at ";

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    public PolicyChange {
        notBefore = Map.copyOf(notBefore);
    }

    /**
     * The decisions with every eviction whose time has not come marked as waiting ({@link
     * Decision#notBefore()}) and its reason added; entries whose time has passed change nothing.
     */
    public List<Decision> apply(List<Decision> decisions, Instant now) {
        if (notBefore.isEmpty()) {
            return decisions;
        }
        List<Decision> out = new ArrayList<>(decisions.size());
        for (Decision d : decisions) {
            Instant at = d.verdict() == Verdict.EVICT ? notBefore.get(d.checkpoint().path().toString()) : null;
            if (at == null || !at.isAfter(now)) {
                out.add(d);
            } else {
                List<Reason> reasons = new ArrayList<>(d.reasons());
                reasons.add(Reason.policyChangeGrace(at(at, now, zone)));
                out.add(new Decision(d.checkpoint(), d.verdict(), reasons, at));
            }
        }
        return out;
    }

    /**
     * Which evictions wait after a (re)judgement: each eviction in {@code after} that the previous
     * configuration kept waits until {@code now + grace}; one already waiting keeps its time (a second
     * edit does not extend it, a shorter grace shortens it); anything {@code after} keeps no longer
     * waits (an edit reverted cancels). Entries for paths {@code after} does not judge (a root not
     * reached this pass) are carried over while their time has not come.
     *
     * @param after      the decisions under the configuration now in force, for the checkpoints present
     * @param keptBefore paths the previous configuration kept; null when there was none in force
     *                   (the agent's start): then nothing new waits, and what already waited still does
     * @param pending    the entries of the previous judgement
     */
    public static Map<String, Instant> waiting(List<Decision> after, Set<String> keptBefore, Map<String, Instant> pending,
                                               Instant now, Duration grace) {
        Instant latest = now.plus(grace);
        Map<String, Instant> out = new LinkedHashMap<>();
        pending.forEach((path, at) -> {
            Instant capped = at.isAfter(latest) ? latest : at;
            if (capped.isAfter(now)) {
                out.put(path, capped);
            }
        });
        for (Decision d : after) {
            String path = d.checkpoint().path().toString();
            if (d.verdict() != Verdict.EVICT) {
                out.remove(path);
            } else if (!out.containsKey(path) && keptBefore != null && keptBefore.contains(path) && latest.isAfter(now)) {
                out.put(path, latest);
            }
        }
        return out;
    }

    /** An instant as a person reads it in {@code zone}: the time of day, with the date when it is not today's. */
    public static String at(Instant t, Instant now, ZoneId zone) {
        LocalDateTime local = LocalDateTime.ofInstant(t, zone);
        return local.toLocalDate().equals(LocalDateTime.ofInstant(now, zone).toLocalDate())
                ? TIME.format(local) : DATE_TIME.format(local);
    }
}
