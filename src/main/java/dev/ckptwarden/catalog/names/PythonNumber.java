package dev.ckptwarden.catalog.names;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Numbers as Python's {@code format()} writes them into checkpoint names: {@code 3}, {@code 0.1234},
 * {@code 2.77e-01}, {@code 1e-05}, {@code -0.5}, {@code nan}, {@code inf}, {@code -inf}.
 */
final class PythonNumber {

    /** Any number Python's float or int formatting can produce (no hex, no Java suffixes such as {@code 1d}). */
    static final String FLOAT_REGEX = "[-+ ]?(?:(?i:nan|inf(?:inity)?)|(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?)";

    /** What {@code {x:d}} produces. */
    static final String INT_REGEX = "[-+ ]?\\d+";

    private static final Pattern UNSIGNED_INTEGER = Pattern.compile("[+ ]?\\d+");

    private PythonNumber() {
    }

    /** The value of text already matched by {@link #FLOAT_REGEX}. */
    static double toDouble(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        boolean negative = t.startsWith("-");
        if (t.startsWith("-") || t.startsWith("+")) {
            t = t.substring(1);
        }
        double magnitude;
        if (t.equals("nan")) {
            return Double.NaN;
        } else if (t.equals("inf") || t.equals("infinity")) {
            magnitude = Double.POSITIVE_INFINITY;
        } else {
            magnitude = Double.parseDouble(t);
        }
        return negative ? -magnitude : magnitude;
    }

    /**
     * The value of a counter (epoch, step) written as a plain non-negative integer, possibly
     * zero-padded; -1 when the text is not one or does not fit {@code max}.
     */
    static long toCounter(String text, long max) {
        if (!UNSIGNED_INTEGER.matcher(text).matches()) {
            return -1;
        }
        BigInteger value = new BigInteger(text.strip().replace("+", ""));
        return value.compareTo(BigInteger.valueOf(max)) <= 0 ? value.longValueExact() : -1;
    }
}
