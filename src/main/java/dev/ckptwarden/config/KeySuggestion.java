package dev.ckptwarden.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** What to tell a user who wrote an unknown key or value: the near miss, or where the key belongs. */
final class KeySuggestion {

    /** Sections a misplaced key is looked up in, so that {@code keep_last} directly under a root is explained. */
    private static final Map<String, String> HOME = Map.ofEntries(
            Map.entry("keep_last", "retention"), Map.entry("keep_best", "retention"),
            Map.entry("keep_every", "retention"), Map.entry("keep_within", "retention"),
            Map.entry("max_bytes", "quota"), Map.entry("run_max_bytes", "quota"),
            Map.entry("min_free", "disk"), Map.entry("min_free_ratio", "disk"),
            Map.entry("target", "offload"), Map.entry("verify", "offload"),
            Map.entry("state_dir", "agent"), Map.entry("listen", "agent"),
            Map.entry("reconcile_interval", "agent"), Map.entry("settle_time", "agent"),
            Map.entry("registry_url", "agent"), Map.entry("cluster", "agent"),
            Map.entry("metrics_max_runs", "agent"),
            Map.entry("path", "each entry of roots"), Map.entry("layout", "each entry of roots"),
            Map.entry("patterns", "each entry of roots"), Map.entry("retention", "each entry of roots"),
            Map.entry("quota", "each entry of roots"), Map.entry("disk", "each entry of roots"),
            Map.entry("action", "each entry of roots"), Map.entry("offload", "each entry of roots"),
            Map.entry("overrides", "each entry of roots"));

    private KeySuggestion() {
    }

    /** The message for an unknown key: {@code unknown key (did you mean keep_last?)} and the like. */
    static String unknownKey(String key, Collection<String> known) {
        Optional<String> near = nearest(key, known);
        if (near.isPresent()) {
            return "unknown key (did you mean " + near.get() + "?)";
        }
        String home = HOME.get(key);
        if (home != null) {
            return "unknown key here (" + key + " belongs under " + home + ")";
        }
        return "unknown key (expected one of: " + String.join(", ", known) + ")";
    }

    /** The known word within a small edit distance of {@code word}, ignoring case and {@code -} versus {@code _}. */
    static Optional<String> nearest(String word, Collection<String> known) {
        String w = normalise(word);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int d = distance(w, normalise(candidate));
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        int allowed = w.length() <= 4 ? 1 : 2;
        return bestDistance <= allowed ? Optional.ofNullable(best) : Optional.empty();
    }

    private static String normalise(String s) {
        return s.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    /** Levenshtein distance, with adjacent transpositions counting as one edit (a common typo). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
