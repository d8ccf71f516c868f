package dev.ckptwarden.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes as people write them: {@code 500GiB}, {@code 6.9GB}, {@code 1048576}, {@code 64MiB}.
 *
 * <p>{@code KB, MB, GB, TB, PB, EB} are powers of 1000 and {@code KiB ... EiB} (also Kubernetes-style
 * {@code Ki ... Ei}) powers of 1024; units are case-insensitive. A bare letter such as {@code 500G} is
 * rejected on purpose: {@code du -h} means 2^30 by it and disk vendors 10^9, and a 7 % error in a
 * quota is the kind of surprise this tool exists to prevent.
 */
public final class ByteSize {

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?|\\.\\d+)\\s*([A-Za-z]*)");
    private static final Map<String, Long> UNITS = Map.ofEntries(
            Map.entry("", 1L), Map.entry("b", 1L),
            Map.entry("kb", 1_000L), Map.entry("mb", 1_000_000L), Map.entry("gb", 1_000_000_000L),
            Map.entry("tb", 1_000_000_000_000L), Map.entry("pb", 1_000_000_000_000_000L),
            Map.entry("eb", 1_000_000_000_000_000_000L),
            Map.entry("kib", 1L << 10), Map.entry("mib", 1L << 20), Map.entry("gib", 1L << 30),
            Map.entry("tib", 1L << 40), Map.entry("pib", 1L << 50), Map.entry("eib", 1L << 60),
            Map.entry("ki", 1L << 10), Map.entry("mi", 1L << 20), Map.entry("gi", 1L << 30),
            Map.entry("ti", 1L << 40), Map.entry("pi", 1L << 50), Map.entry("ei", 1L << 60));
    private static final String[] BINARY = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private ByteSize() {
    }

    /**
     * Parses a size; fractions are rounded to the nearest byte.
     *
     * @throws IllegalArgumentException with a one-line message quoting the text
     */
    public static long parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("expected a size like 500GiB, got nothing");
        }
        String trimmed = text.strip();
        if (trimmed.startsWith("-")) {
            throw new IllegalArgumentException("a size cannot be negative, got '" + text + "'");
        }
        Matcher m = SIZE.matcher(trimmed);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a size like 500GiB, got '" + text + "'");
        }
        String unit = m.group(2).toLowerCase(Locale.ROOT);
        Long factor = UNITS.get(unit);
        if (factor == null) {
            if (unit.length() == 1 && "kmgtpe".contains(unit)) {
                String u = unit.toUpperCase(Locale.ROOT);
                throw new IllegalArgumentException("ambiguous unit '" + m.group(2) + "' in '" + text + "': write "
                        + m.group(1) + u + "B (powers of 1000) or " + m.group(1) + u + "iB (powers of 1024)");
            }
            throw new IllegalArgumentException("unknown unit '" + m.group(2) + "' in '" + text
                    + "' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
        }
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(factor));
        if (factor == 1 && bytes.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("a byte count must be a whole number, got '" + text + "'");
        }
        BigDecimal rounded = bytes.setScale(0, RoundingMode.HALF_UP);
        if (rounded.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("size '" + text + "' is too large (the limit is 8 EiB)");
        }
        return rounded.longValueExact();
    }

    /** A short human form in binary units with at most one decimal: {@code 6.9 GiB}, {@code 512 MiB}, {@code 900 B}. */
    public static String format(long bytes) {
        if (bytes < 0) {
            // -Long.MIN_VALUE overflows; it is 8 EiB exactly
            return "-" + (bytes == Long.MIN_VALUE ? "8 EiB" : format(-bytes));
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        int unit = 0;
        double value = bytes / 1024.0;
        while (true) {
            long tenths = Math.round(value * 10);
            if (tenths >= 10240 && unit < BINARY.length - 1) {
                // 1023.96 KiB must read "1 MiB", not "1024 KiB"
                value /= 1024;
                unit++;
                continue;
            }
            // Whole tenths printed from the integer (what "%.1f" printed, without a Formatter per table row).
            String number = tenths % 10 == 0 ? Long.toString(tenths / 10) : tenths / 10 + "." + tenths % 10;
            return number + " " + BINARY[unit];
        }
    }
}
