package dev.ckptwarden.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects every error of one load so that {@code check-config} can explain them all at once. */
final class ConfigErrors {

    private final Path file;
    private final List<ConfigError> errors = new ArrayList<>();

    ConfigErrors(Path file) {
        this.file = file;
    }

    void at(int line, int column, String key, String message) {
        errors.add(new ConfigError(file, line, column, key, message));
    }

    void at(YamlNode node, String key, String message) {
        at(node.line(), node.column(), key, message);
    }

    void at(YamlNode.Entry entry, String key, String message) {
        at(entry.line(), entry.column(), key, message);
    }

    /** An error in an environment variable: it has no file position, so it is named by the variable. */
    void environment(String variable, String message) {
        errors.add(new ConfigError(null, 0, 0, variable, message));
    }

    boolean isEmpty() {
        return errors.isEmpty();
    }

    int count() {
        return errors.size();
    }

    void throwIfAny() throws ConfigException {
        if (!errors.isEmpty()) {
            throw new ConfigException(sorted());
        }
    }

    /** In file order (cross-checks find some errors late), position-less ones last, stable otherwise. */
    List<ConfigError> sorted() {
        List<ConfigError> copy = new ArrayList<>(errors);
        copy.sort(Comparator.comparingInt((ConfigError e) -> e.line() > 0 ? 1 : e.file() == null ? 2 : 0)
                .thenComparingInt(ConfigError::line)
                .thenComparingInt(ConfigError::column));
        return copy;
    }
}
