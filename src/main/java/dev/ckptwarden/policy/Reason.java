package dev.ckptwarden.policy;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One reason behind a retention decision or an eviction: the rule or protection that gave it, its
 * rank where the rule ranks (keep_last 1 is the newest, keep_best 1 the best; 0 otherwise), and the
 * words {@code plan}, the JSON API and the audit log show. Code decides on {@link #rule()} and
 * {@link #rank()}; only the edges read {@link #text()}.
 */
public record Reason(Rule rule, int rank, String text) {

    /** Where a reason comes from. */
    public enum Rule {
        /** Nothing may remove it: no configuration, no pressure, no enforcement. */
        PROTECTED(null),
        KEEP_LAST(PressureCandidate.KEEP_LAST),
        KEEP_BEST(PressureCandidate.KEEP_BEST),
        MILESTONE(PressureCandidate.MILESTONE),
        KEEP_WITHIN(PressureCandidate.KEEP_WITHIN),
        /** A second name of a present checkpoint: kept exactly when its target is. */
        ALIAS_OF(null),
        /** A root without retention: kept, and never a pressure candidate. */
        WATCH_ONLY(null),
        /** Kept by no rule. */
        EVICTABLE(null),
        /** An eviction a configuration change brought, waiting out the grace. */
        POLICY_CHANGE_GRACE(null),
        /** Why quota or disk pressure takes a checkpoint beyond policy. */
        PRESSURE(null);

        private final String tier;

        Rule(String tier) {
            this.tier = tier;
        }

        /** The pressure tier of a keeping rule ({@code keep_last}, ...), or null for anything else. */
        public String tier() {
            return tier;
        }
    }

    /** The keeping rules from least to most valuable: the order pressure takes their checkpoints in. */
    static final List<Rule> RULE_TIERS = List.of(Rule.KEEP_WITHIN, Rule.MILESTONE, Rule.KEEP_LAST, Rule.KEEP_BEST);

    /** The single reason of a checkpoint no rule and no protection keeps. */
    public static final Reason EVICTABLE = new Reason(Rule.EVICTABLE, 0, "evictable: kept by no rule");
    /** The single reason of every checkpoint of a root without retention. */
    public static final Reason WATCH_ONLY = new Reason(Rule.WATCH_ONLY, 0, "watch-only root");

    private static final String PROTECTED = "protected: ";

    public Reason {
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(text, "text");
    }

    /** {@code protected: <what>}: the one place that prefix is written. */
    public static Reason protection(String what) {
        return new Reason(Rule.PROTECTED, 0, PROTECTED + what);
    }

    /** {@code keep_last 1/3}. */
    static Reason keepLast(int rank, int of) {
        return new Reason(Rule.KEEP_LAST, rank, Rule.KEEP_LAST.tier() + " " + rank + "/" + of);
    }

    /** {@code keep_best 2/3 val_loss=0.1234}. */
    static Reason keepBest(int rank, int of, String metric, double value) {
        return new Reason(Rule.KEEP_BEST, rank, Rule.KEEP_BEST.tier() + " " + rank + "/" + of + " " + metric(metric, value));
    }

    /** {@code milestone step 10000} or {@code milestone epoch 5}. */
    static Reason milestone(String unit, long value) {
        return new Reason(Rule.MILESTONE, 0, Rule.MILESTONE.tier() + " " + unit + " " + value);
    }

    /** {@code keep_within 24h}. */
    static Reason keepWithin(Duration window) {
        return new Reason(Rule.KEEP_WITHIN, 0, Rule.KEEP_WITHIN.tier() + " " + duration(window));
    }

    /** {@code alias of epoch=3.ckpt}. */
    static Reason aliasOf(String target) {
        return new Reason(Rule.ALIAS_OF, 0, "alias of " + target);
    }

    /** {@code policy change grace: evicted at 10:05:00}. */
    static Reason policyChangeGrace(String at) {
        return new Reason(Rule.POLICY_CHANGE_GRACE, 0, PolicyChange.REASON + at);
    }

    /** Why quota or disk pressure takes a checkpoint, in words ({@code free space below ...}). */
    public static Reason pressure(String why) {
        return new Reason(Rule.PRESSURE, 0, why);
    }

    /** {@code pressure tier keep_last}: which tier pressure took it from. */
    public static Reason pressureTier(PressureCandidate candidate) {
        return new Reason(Rule.PRESSURE, 0, "pressure tier " + candidate.tier());
    }

    /** True for a protection: nothing may remove the checkpoint. */
    public boolean isProtection() {
        return rule == Rule.PROTECTED;
    }

    /** True when this reason alone keeps the checkpoint (a protection, a rule, an alias, a watch-only root). */
    public boolean keeps() {
        return rule == Rule.PROTECTED || rule.tier() != null || rule == Rule.ALIAS_OF || rule == Rule.WATCH_ONLY;
    }

    /** The words, for the edges (plan, JSON, audit log). */
    public static List<String> texts(List<Reason> reasons) {
        return reasons.stream().map(Reason::text).toList();
    }

    @Override
    public String toString() {
        return text;
    }

    /** {@code "val_loss=0.1234"}. */
    static String metric(String name, double value) {
        return name + "=" + number(value);
    }

    /**
     * A metric value as a person would write it: plain decimals in the usual range ({@code 0.1234},
     * {@code 2}), exponent form outside it ({@code 1e-05} style as {@code 1e-5}), {@code nan}/{@code inf}
     * as checkpoint names spell them.
     */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        double abs = Math.abs(v);
        if (abs == 0 || (abs >= 1e-4 && abs < 1e9)) {
            return new BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
        }
        return Double.toString(v).replace(".0E", "E").replace('E', 'e');
    }

    /**
     * A duration in the configuration's own units: {@code 90s}, {@code 5m}, {@code 24h}, {@code 7d}.
     * Whole days are shown as days only from two days on, so a configured {@code 24h} reads back as
     * {@code 24h}.
     */
    static String duration(Duration d) {
        if (d.toNanosPart() % 1_000_000 != 0 || d.isNegative()) {
            return d.toString();
        }
        long millis = d.toMillis();
        if (millis % 1000 != 0) {
            return millis + "ms";
        }
        long seconds = millis / 1000;
        if (seconds != 0 && seconds % 86_400 == 0 && seconds / 86_400 > 1) {
            return seconds / 86_400 + "d";
        }
        if (seconds != 0 && seconds % 3600 == 0) {
            return seconds / 3600 + "h";
        }
        if (seconds != 0 && seconds % 60 == 0) {
            return seconds / 60 + "m";
        }
        return seconds + "s";
    }
}
