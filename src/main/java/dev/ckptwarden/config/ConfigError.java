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
        key = key == null ? "" : key;
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
