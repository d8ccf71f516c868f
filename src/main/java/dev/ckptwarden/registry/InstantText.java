package dev.ckptwarden.registry;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;

/**
 * Instants as the registry stores them: ISO-8601 UTC with exactly nine fraction digits
 * ({@code 2024-01-09T10:00:00.000000000Z}), so that nanosecond file times survive and text order is
 * time order for years 0000 to 9999. Years outside that range are still written and read exactly,
 * in ISO's signed form. The common shape is formatted and parsed by hand: listing 20,000 checkpoints
 * reads 60,000 instants, and {@link DateTimeFormatter} parsing was most of that listing's time.
 */
final class InstantText {

    private static final int LENGTH = "0000-00-00T00:00:00.000000000Z".length();
    private static final long FIRST_SECOND = LocalDate.of(0, 1, 1).toEpochDay() * 86_400L;
    private static final long END_SECOND = LocalDate.of(10_000, 1, 1).toEpochDay() * 86_400L;
    private static final DateTimeFormatter ANY_YEAR = new DateTimeFormatterBuilder().appendInstant(9).toFormatter();

    private InstantText() {
    }

    static String format(Instant instant) {
        if (instant == null) {
            return null;
        }
        long seconds = instant.getEpochSecond();
        if (seconds < FIRST_SECOND || seconds >= END_SECOND) {
            return ANY_YEAR.format(instant);
        }
        LocalDateTime t = LocalDateTime.ofEpochSecond(seconds, instant.getNano(), ZoneOffset.UTC);
        char[] out = new char[LENGTH];
        digits(out, 0, t.getYear(), 4);
        out[4] = '-';
        digits(out, 5, t.getMonthValue(), 2);
        out[7] = '-';
        digits(out, 8, t.getDayOfMonth(), 2);
        out[10] = 'T';
        digits(out, 11, t.getHour(), 2);
        out[13] = ':';
        digits(out, 14, t.getMinute(), 2);
        out[16] = ':';
        digits(out, 17, t.getSecond(), 2);
        out[19] = '.';
        digits(out, 20, t.getNano(), 9);
        out[29] = 'Z';
        return new String(out);
    }

    static Instant parse(String text) {
        if (text == null) {
            return null;
        }
        if (text.length() == LENGTH && text.charAt(4) == '-' && text.charAt(7) == '-' && text.charAt(10) == 'T'
                && text.charAt(13) == ':' && text.charAt(16) == ':' && text.charAt(19) == '.'
                && text.charAt(29) == 'Z') {
            int year = number(text, 0, 4);
            int month = number(text, 5, 2);
            int day = number(text, 8, 2);
            int hour = number(text, 11, 2);
            int minute = number(text, 14, 2);
            int second = number(text, 17, 2);
            int nano = number(text, 20, 9);
            if (year >= 0 && month >= 0 && day >= 0 && hour >= 0 && hour < 24 && minute >= 0 && minute < 60
                    && second >= 0 && second < 60 && nano >= 0) {
                try {
                    long epochDay = LocalDate.of(year, month, day).toEpochDay();
                    return Instant.ofEpochSecond(epochDay * 86_400L + hour * 3600L + minute * 60L + second, nano);
                } catch (DateTimeException e) {
                    // Not a real date: let the standard parser name the problem.
                }
            }
        }
        return Instant.parse(text);
    }

    private static void digits(char[] out, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            out[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }

    /** The decimal number in {@code text[at, at + width)}, or -1 if a character there is not a digit. */
    private static int number(String text, int at, int width) {
        int value = 0;
        for (int i = at; i < at + width; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }
}
