package dev.ckptwarden.config;

import java.nio.file.Path;

/**
 * One thing wrong with a configuration, located as precisely as the input allows.
 *
 * @param file   the configuration file as it was named to the loader; null for an environment variable
 * @param line   1-based line, or 0 when the error has no position (an unreadable file, an environment variable)
 * @param column 1-based column, or 0 when unknown
 * @param key    the full key path ({@code roots[1].retention.keep_best.mode}), the environment variable's name,
 *               or "" for the file as a whole
 * @param message what is wrong and, where possible, how to fix it
 */
public record ConfigError(Path file, int line, int column, String key, String message) {

    public ConfigError {
        // Messages and keys quote what the user wrote, which may hold line breaks (a quoted key, a file that
        // is one long text): an error stays one line, the line a user greps for.
        key = key == null ? "" : oneLine(key);
        message = message == null ? null : oneLine(message);
    }

    /** {@code text} with control characters written as escapes ({@code \n}, {@code \x1b}). */
    static String oneLine(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c != 0x7f) {
                if (out != null) {
                    out.append(c);
                }
                continue;
            }
            if (out == null) {
                out = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(String.format("\\x%02x", (int) c));
            }
        }
        return out == null ? text : out.toString();
    }

    /** {@code conf/ckpt-warden.yaml:12:7: roots[0].retention.keep_lst: unknown key (did you mean keep_last?)} */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        if (file != null) {
            text.append(file);
        }
        if (line > 0) {
            text.append(file != null ? ":" : "").append(line);
            if (column > 0) {
                text.append(':').append(column);
            }
        }
        if (!text.isEmpty()) {
            text.append(": ");
        }
        if (!key.isEmpty()) {
            text.append(key).append(": ");
        }
        return text.append(message).toString();
    }
}
