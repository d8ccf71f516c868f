package dev.ckptwarden.policy;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;

/**
 * The grammar of decision reasons. They are what {@code plan} prints and what the audit log records,
 * and {@link RetentionPolicy#pressureOrder} reads a decision's tier back from them, so formatting and
 * parsing live side by side here.
 */
final class Reasons {

    static final String PROTECTED = "protected: ";
    static final String ALIAS_OF = "alias of ";
    static final String WATCH_ONLY = "watch-only root";
    static final String EVICTABLE = "evictable: kept by no rule";

    /** Rule tiers from least to most valuable; a reason of a rule starts with its tier and a space. */
    static final List<String> RULE_TIERS = List.of(
            PressureCandidate.KEEP_WITHIN, PressureCandidate.MILESTONE, PressureCandidate.KEEP_LAST,
            PressureCandidate.KEEP_BEST);

    private Reasons() {
    }

    static boolean isProtection(String reason) {
        return reason.startsWith(PROTECTED);
    }

    /** The rule tier a reason names, or null for protection, alias, watch-only and unknown reasons. */
    static String ruleTier(String reason) {
        for (String tier : RULE_TIERS) {
            if (reason.startsWith(tier + " ")) {
                return tier;
            }
        }
        return null;
    }

    /** Rank r of a {@code "keep_best r/k metric=value"} reason (1 is the best), or -1 when it is not one. */
    static int keepBestRank(String reason) {
        if (!PressureCandidate.KEEP_BEST.equals(ruleTier(reason))) {
            return -1;
        }
        int start = PressureCandidate.KEEP_BEST.length() + 1;
        int slash = reason.indexOf('/', start);
        if (slash < 0) {
            return -1;
        }
        try {
            return Integer.parseInt(reason.substring(start, slash));
        } catch (NumberFormatException e) {
            return -1;
        }
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
