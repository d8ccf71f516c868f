package dev.ckptwarden.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them: {@code 90s}, {@code 5m}, {@code 6h}, {@code 7d}, {@code 500ms},
 * {@code 1h30m}, {@code 1.5h}; ISO-8601 ({@code PT5M}) is accepted too. Units: ns, us, ms, s, m, h, d, w.
 * A bare number is rejected: {@code settle_time: 10} could mean seconds or minutes.
 */
public final class DurationText {

    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?|\\.\\d+)\\s*([A-Za-zµ]*)\\s*");
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final Map<String, Long> UNIT_NANOS = Map.of(
            "ns", 1L,
            "us", 1_000L,
            "µs", 1_000L,
            "ms", 1_000_000L,
            "s", NANOS_PER_SECOND,
            "m", 60 * NANOS_PER_SECOND,
            "h", 3_600 * NANOS_PER_SECOND,
            "d", 86_400 * NANOS_PER_SECOND,
            "w", 7 * 86_400 * NANOS_PER_SECOND);

    private DurationText() {
    }

    /**
     * Parses a non-negative duration; fractions below a nanosecond are rounded.
     *
     * @throws IllegalArgumentException with a one-line message quoting the text
     */
    public static Duration parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("expected a duration like 90s, 5m, 6h or 7d, got '"
                    + (text == null ? "" : text) + "'");
        }
        String trimmed = text.strip();
        if (trimmed.startsWith("P") || trimmed.startsWith("p")) {
            return parseIso(text, trimmed);
        }
        if (trimmed.startsWith("-")) {
            throw new IllegalArgumentException("a duration cannot be negative, got '" + text + "'");
        }
        Matcher m = PART.matcher(trimmed);
        BigDecimal nanos = BigDecimal.ZERO;
        int at = 0;
        while (at < trimmed.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("expected a duration like 90s, 5m, 6h or 7d, got '" + text + "'");
            }
            String unit = m.group(2);
            if (unit.isEmpty()) {
                throw new IllegalArgumentException("missing unit in duration '" + text + "' (add one of ms, s, m, h, d)");
            }
            Long factor = UNIT_NANOS.get(unit);
            if (factor == null) {
                throw new IllegalArgumentException("unknown unit '" + unit + "' in duration '" + text
                        + "' (use ms, s, m, h, d or w)");
            }
            nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(factor)));
            at = m.end();
        }
        BigInteger[] secondsAndNanos = nanos.setScale(0, RoundingMode.HALF_UP).toBigInteger()
                .divideAndRemainder(BigInteger.valueOf(NANOS_PER_SECOND));
        try {
            return Duration.ofSeconds(secondsAndNanos[0].longValueExact(), secondsAndNanos[1].longValueExact());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("duration '" + text + "' is too long");
        }
    }

    private static Duration parseIso(String text, String trimmed) {
        Duration d;
        try {
            d = Duration.parse(trimmed);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("expected a duration like 90s, 5m, 6h or 7d, got '" + text + "'");
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException("a duration cannot be negative, got '" + text + "'");
        }
        return d;
    }

    /** The compact form {@link #parse} reads back exactly: {@code 7d}, {@code 1h30m}, {@code 1s500ms}, {@code 0s}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.isNegative()) {
            return "-" + format(d.negated());
        }
        StringBuilder text = new StringBuilder();
        append(text, d.toDays(), "d");
        append(text, d.toHoursPart(), "h");
        append(text, d.toMinutesPart(), "m");
        append(text, d.toSecondsPart(), "s");
        int nanos = d.toNanosPart();
        append(text, nanos / 1_000_000, "ms");
        append(text, nanos / 1_000 % 1_000, "us");
        append(text, nanos % 1_000, "ns");
        return text.toString();
    }

    private static void append(StringBuilder text, long amount, String unit) {
        if (amount != 0) {
            text.append(amount).append(unit);
        }
    }
}
