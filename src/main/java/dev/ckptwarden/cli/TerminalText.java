package dev.ckptwarden.cli;

/**
 * Text from file names made safe for a terminal. A checkpoint name may hold any byte but '/' and NUL:
 * printed raw, a newline splits a table row (and any line-wise reading of the output) and an ESC
 * starts a terminal control sequence (colours, cursor moves, window titles). Human output shows such
 * characters escaped ({@code \n}, {@code \t}, {@code \x1b}, {@code \u2028}); {@code --json} carries
 * names exactly.
 */
final class TerminalText {
    private TerminalText() {
    }

    /** {@code null} stays null; anything else as {@link #escape(String)} of its string form. */
    static String escape(Object value) {
        return value == null ? null : escape(value.toString());
    }

    /** The text with C0 controls, DEL, C1 controls and the Unicode line/paragraph separators escaped. */
    static String escape(String s) {
        int i = 0;
        while (i < s.length() && !isControl(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s; // the common case: nothing to escape, no copy
        }
        StringBuilder out = new StringBuilder(s.length() + 8).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isControl(c)) {
                out.append(c);
                continue;
            }
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
            }
        }
        return out.toString();
    }

    private static boolean isControl(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }
}
