package dev.ckptwarden.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Reads the keys of one YAML mapping as typed values. Unknown keys are reported when the reader is
 * made; each typed read returns null when the key is absent or its value is wrong, and in the
 * latter case records an error naming the full key path, so that reading goes on and every error
 * of the file is found in one pass.
 */
final class MappingReader {

    private final YamlNode.Mapping mapping;
    private final String path;
    private final ConfigErrors errors;
    private final Map<String, YamlNode.Entry> entries = new LinkedHashMap<>();

    private MappingReader(YamlNode.Mapping mapping, String path, ConfigErrors errors, List<String> known) {
        this.mapping = mapping;
        this.path = path;
        this.errors = errors;
        for (YamlNode.Entry e : mapping.entries()) {
            if (known.contains(e.key())) {
                entries.put(e.key(), e);
            } else {
                errors.at(e, keyPath(e.key()), KeySuggestion.unknownKey(e.key(), known));
            }
        }
    }

    /**
     * A reader for {@code node}, or null (with an error) when it is not a mapping.
     *
     * @param what how the expected value is described in the error, e.g. "a mapping of retention rules"
     */
    static MappingReader of(YamlNode node, String path, ConfigErrors errors, String what, String... knownKeys) {
        if (node instanceof YamlNode.Mapping m) {
            return new MappingReader(m, path, errors, List.of(knownKeys));
        }
        if (!isAlias(node)) {
            errors.at(node, path, "expected " + what + ", got " + node.describe());
        }
        return null;
    }

    /**
     * As {@link #of}, and also null (with an error) when {@code node} is empty: an empty block would otherwise
     * silently do nothing.
     *
     * @param ifEmpty the end of the message for an empty block, e.g. "set min_free or min_free_ratio, or remove disk:"
     */
    static MappingReader nonEmpty(YamlNode node, String path, ConfigErrors errors, String ifEmpty, String what,
            String... knownKeys) {
        if ((node instanceof YamlNode.Scalar s && s.isNull() && !s.alias())
                || (node instanceof YamlNode.Mapping m && m.entries().isEmpty())) {
            errors.at(node, path, "is empty; " + ifEmpty);
            return null;
        }
        return of(node, path, errors, what, knownKeys);
    }

    /** {@link #nonEmpty} for the block at {@code key} of this mapping (which the caller saw it {@link #has}). */
    MappingReader block(String key, String ifEmpty, String what, String... knownKeys) {
        return nonEmpty(get(key), keyPath(key), errors, ifEmpty, what, knownKeys);
    }

    YamlNode.Mapping node() {
        return mapping;
    }

    String keyPath(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return entries.containsKey(key);
    }

    /** The value node of {@code key}, or null when absent. */
    YamlNode get(String key) {
        YamlNode.Entry e = entries.get(key);
        return e == null ? null : e.value();
    }

    /** Where the key itself is written, for errors about the key rather than its value. */
    YamlNode.Entry entry(String key) {
        return entries.get(key);
    }

    void error(String key, String message) {
        YamlNode value = get(key);
        if (value != null) {
            errors.at(value, keyPath(key), message);
        } else {
            errors.at(mapping, keyPath(key), message);
        }
    }

    void missing(String key, String hint) {
        errors.at(mapping, keyPath(key), "required key is missing" + hint);
    }

    /** Any scalar as text ({@code name: 2024} is the text "2024"); null for an absent key or a YAML null. */
    String text(String key, String expected) {
        YamlNode node = get(key);
        if (node == null || isAlias(node)) {
            return null;
        }
        if (node instanceof YamlNode.Scalar s && !s.isNull()) {
            return s.text();
        }
        error(key, "expected " + expected + ", got " + node.describe());
        return null;
    }

    /** Like {@link #text} but a YAML null (an empty value) reads as "". */
    String textOrEmpty(String key, String expected) {
        YamlNode node = get(key);
        if (node instanceof YamlNode.Scalar s && s.isNull() && !s.alias()) {
            return "";
        }
        return text(key, expected);
    }

    Long whole(String key, long min) {
        String what = "a whole number of at least " + min;
        return parsed(key, what, text -> {
            if (isType(key, YamlNode.Scalar.Type.FLOAT)) {
                throw new IllegalArgumentException("expected " + what + ", got '" + text + "'");
            }
            long value;
            try {
                value = Long.parseLong(text.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected " + what + ", got '" + text + "'");
            }
            if (value < min) {
                throw new IllegalArgumentException("must be at least " + min + ", got " + value);
            }
            return value;
        });
    }

    Integer wholeInt(String key, int min) {
        Long value = whole(key, min);
        if (value != null && value > Integer.MAX_VALUE) {
            error(key, "must be at most " + Integer.MAX_VALUE + ", got " + value);
            return null;
        }
        return value == null ? null : value.intValue();
    }

    /** A byte size greater than zero ({@code 0} would make a limit that everything breaks). */
    Long size(String key) {
        return parsed(key, "a size like 500GiB", text -> {
            long bytes = ByteSize.parse(text);
            if (bytes <= 0) {
                throw new IllegalArgumentException("must be more than 0 bytes, got '" + text + "'");
            }
            return bytes;
        });
    }

    Duration duration(String key, boolean zeroAllowed) {
        return parsed(key, "a duration like 90s, 5m, 6h or 7d", text -> {
            Duration d = DurationText.parse(text);
            if (d.isZero() && !zeroAllowed) {
                throw new IllegalArgumentException("must be longer than 0, got '" + text + "'");
            }
            return d;
        });
    }

    Boolean bool(String key) {
        return parsed(key, "true or false", text -> switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("expected true or false, got '" + text + "'");
        });
    }

    /** A number strictly between 0 and 1; {@code 10%} is read as 0.10. */
    Double ratio(String key) {
        return parsed(key, "a ratio between 0 and 1 like 0.10", text -> {
            String t = text.strip();
            double value;
            try {
                value = t.endsWith("%")
                        ? Double.parseDouble(t.substring(0, t.length() - 1).strip()) / 100
                        : Double.parseDouble(t);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected a ratio between 0 and 1 like 0.10, got '" + text + "'");
            }
            if (!(value > 0 && value < 1)) {
                throw new IllegalArgumentException("must be between 0 and 1 (exclusive), like 0.10, got '" + text + "'");
            }
            return value;
        });
    }

    /** One of an enum's lower-case ids, case-insensitively. */
    <E extends Enum<E>> E choice(String key, E[] values) {
        List<String> ids = Arrays.stream(values).map(v -> v.name().toLowerCase(Locale.ROOT)).toList();
        return parsed(key, "one of " + String.join(", ", ids), text -> {
            String t = text.strip().toLowerCase(Locale.ROOT);
            int index = ids.indexOf(t);
            if (index >= 0) {
                return values[index];
            }
            Optional<String> near = KeySuggestion.nearest(t, ids);
            throw new IllegalArgumentException("expected one of " + String.join(", ", ids) + "; got '" + text + "'"
                    + near.map(n -> " (did you mean " + n + "?)").orElse(""));
        });
    }

    /** A list of texts; a single text where a list is expected is an error, not a one-element list. */
    List<String> texts(String key, String expectedItem) {
        YamlNode node = get(key);
        if (node == null || isAlias(node)) {
            return null;
        }
        if (node instanceof YamlNode.Scalar s && s.isNull()) {
            return List.of();
        }
        if (!(node instanceof YamlNode.Sequence seq)) {
            error(key, "expected a list of " + expectedItem + ", got " + node.describe());
            return null;
        }
        List<String> out = new ArrayList<>();
        boolean ok = true;
        for (int i = 0; i < seq.items().size(); i++) {
            YamlNode item = seq.items().get(i);
            if (item instanceof YamlNode.Scalar s && !s.isNull()) {
                out.add(s.text());
            } else {
                ok = false;
                if (!isAlias(item)) {
                    errors.at(item, keyPath(key) + "[" + i + "]", "expected " + expectedItem + ", got " + item.describe());
                }
            }
        }
        return ok ? out : null;
    }

    private <T> T parsed(String key, String expected, Function<String, T> parse) {
        String text = text(key, expected);
        if (text == null) {
            return null;
        }
        try {
            return parse.apply(text);
        } catch (IllegalArgumentException e) {
            error(key, e.getMessage());
            return null;
        }
    }

    private boolean isType(String key, YamlNode.Scalar.Type type) {
        return get(key) instanceof YamlNode.Scalar s && s.type() == type;
    }

    static boolean isAlias(YamlNode node) {
        return node instanceof YamlNode.Scalar s && s.alias();
    }
}
