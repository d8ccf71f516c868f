package dev.ckptwarden.catalog.names;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code key=value} field of a name as Lightning's {@code auto_insert_metric_name} writes it
 * ({@code epoch=03}, {@code val/loss=2.77e-01}); {@code start}..{@code end} spans key, '=' and value.
 */
record KeyValueToken(String key, String value, int start, int end) {

    /** What a key stands for. */
    enum Meaning { EPOCH, STEP, METRIC }

    /**
     * A value must end where the field ends: at the end, or before the join character or a path
     * separator. So {@code b=1.c.d.e} and {@code name=105>} carry no number.
     */
    private static final Pattern VALUE = Pattern.compile(PythonNumber.FLOAT_REGEX + "(?=$|[-_/ ,;])");

    /** Keys end in epoch/step after a non-letter: {@code hidden_size64epoch}, {@code best_20231231_epoch}, {@code global_step}. */
    private static final Pattern EPOCH_KEY = Pattern.compile("(?:.*[^\\p{L}])?epoch");
    private static final Pattern STEP_KEY = Pattern.compile("(?:.*[^\\p{L}])?step");

    Meaning meaning() {
        return meaningOf(key);
    }

    static Meaning meaningOf(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        if (EPOCH_KEY.matcher(k).matches()) {
            return Meaning.EPOCH;
        }
        if (STEP_KEY.matcher(k).matches()) {
            return Meaning.STEP;
        }
        return Meaning.METRIC;
    }

    /**
     * Where the next key may start: after the value and the one separator that ends it. Keys never
     * reach back into an earlier field, which is what keeps {@code a=1_b=2} from yielding key {@code 1_b}.
     */
    int nextKeyFloor(String text) {
        return end < text.length() ? end + 1 : end;
    }

    /** All fields of {@code text} whose value is a number, left to right. */
    static List<KeyValueToken> scan(String text) {
        List<KeyValueToken> tokens = new ArrayList<>();
        Matcher value = VALUE.matcher(text);
        int floor = 0;
        int i = text.indexOf('=');
        while (i >= 0) {
            int keyStart = i;
            while (keyStart > floor && isKeyChar(text.charAt(keyStart - 1))) {
                keyStart--;
            }
            String key = text.substring(keyStart, i);
            value.region(i + 1, text.length());
            if (hasLetter(key) && value.lookingAt()) {
                KeyValueToken token = new KeyValueToken(key, value.group(), keyStart, value.end());
                tokens.add(token);
                floor = token.nextKeyFloor(text);
                i = text.indexOf('=', value.end());
            } else {
                i = text.indexOf('=', i + 1);
            }
        }
        return tokens;
    }

    /**
     * Metric names may hold '.' and '/' (Lightning logs {@code val/loss}); '-' is Lightning's join
     * character, so a key never contains it.
     */
    static boolean isKeyChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '.' || c == '/';
    }

    private static boolean hasLetter(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isLetter(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }
}
