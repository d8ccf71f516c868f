package dev.ckptwarden.policy;

import java.util.Comparator;

/**
 * How specific an override's glob is, to choose among several that match one run id. More literal
 * characters is more specific; among equal counts, fewer wildcards is. Literal characters are those
 * outside any wildcard ({@code \x} counts as one literal {@code x}); wildcards are each {@code *}
 * and {@code ?} character (so {@code **} counts two, and {@code runs/*} beats {@code runs/**}) and
 * each {@code [...]} or {@code {...}} group. Remaining ties go to the later entry in the list, as a
 * later line in a configuration file usually refines an earlier one.
 */
record GlobSpecificity(int literals, int wildcards) {

    /** Orders from least to most specific. */
    static final Comparator<GlobSpecificity> LEAST_TO_MOST = Comparator.comparingInt(GlobSpecificity::literals)
            .thenComparing(Comparator.comparingInt(GlobSpecificity::wildcards).reversed());

    static GlobSpecificity of(String glob) {
        int literals = 0;
        int wildcards = 0;
        int i = 0;
        while (i < glob.length()) {
            char ch = glob.charAt(i);
            if (ch == '\\' && i + 1 < glob.length()) {
                literals++;
                i += 2;
            } else if (ch == '*' || ch == '?') {
                wildcards++;
                i++;
            } else if (ch == '[' || ch == '{') {
                wildcards++;
                int close = glob.indexOf(ch == '[' ? ']' : '}', i + 1);
                i = close < 0 ? glob.length() : close + 1;
            } else {
                literals++;
                i++;
            }
        }
        return new GlobSpecificity(literals, wildcards);
    }
}
