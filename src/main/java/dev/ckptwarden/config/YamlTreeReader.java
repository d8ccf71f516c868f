package dev.ckptwarden.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Builds a {@link YamlNode} tree from Jackson's YAML token stream, keeping each key's and value's
 * position. Walking tokens (rather than binding to objects) is what lets us report duplicate keys,
 * which a mapping would silently collapse to the last one.
 */
final class YamlTreeReader {

    /** How deep values may nest; a configuration needs 7 levels (roots, an override's keep_best). */
    static final int MAX_DEPTH = 32;
    /** The longest configuration read, in characters (a real one is a few kilobytes). */
    static final int MAX_CHARS = 1 << 20;

    /**
     * The parser's own limits, set explicitly (backstops to the checks in this class): nesting a little
     * deeper than {@link #MAX_DEPTH} so that our message, with its line, comes first, and the size.
     */
    private static final YAMLFactory FACTORY = factory();

    private final YAMLParser parser;
    private final ConfigErrors errors;

    private static YAMLFactory factory() {
        LoaderOptions options = new LoaderOptions();
        options.setNestingDepthLimit(MAX_DEPTH + 2);
        options.setCodePointLimit(MAX_CHARS + 1);
        options.setMaxAliasesForCollections(10);
        // EMPTY_STRING_AS_NULL is what new YAMLFactory() does; the builder leaves it off ("retention:" is null).
        return YAMLFactory.builder().loaderOptions(options).enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH + 2)
                        .maxStringLength(MAX_CHARS + 1).maxNumberLength(100).build())
                .build();
    }

    /** The message for a file over {@link #MAX_CHARS}, {@code size} saying how large it is. */
    static String tooLarge(String size) {
        return "the file is larger than " + MAX_CHARS / 1024 + " KiB (" + size + "); a configuration is a few "
                + "kilobytes, check that this is the right file";
    }

    /** Thrown where a value nests deeper than {@link #MAX_DEPTH}: the rest of the document is not read. */
    private static final class TooDeep extends RuntimeException {
        final int line;
        final int column;

        TooDeep(int line, int column) {
            super(null, null, false, false);
            this.line = line;
            this.column = column;
        }
    }

    private YamlTreeReader(YAMLParser parser, ConfigErrors errors) {
        this.parser = parser;
        this.errors = errors;
    }

    /**
     * The document's root node, or null when the text holds no document or is not valid YAML (the
     * syntax error is then in {@code errors}).
     */
    static YamlNode read(String yaml, ConfigErrors errors) {
        if (yaml.length() > MAX_CHARS) {
            errors.at(0, 0, "", tooLarge(yaml.length() + " characters"));
            return null;
        }
        try (YAMLParser parser = FACTORY.createParser(yaml)) {
            YamlTreeReader reader = new YamlTreeReader(parser, errors);
            JsonToken first = parser.nextToken();
            if (first == null) {
                return null;
            }
            YamlNode root = reader.value(first, "", 1);
            if (parser.nextToken() != null) {
                JsonLocation at = parser.currentTokenLocation();
                errors.at(at.getLineNr(), at.getColumnNr(), "",
                        "a second YAML document (after '---') is not supported; keep one document per file");
            }
            return root;
        } catch (TooDeep e) {
            errors.at(e.line, e.column, "", "values nested deeper than " + MAX_DEPTH + " levels (a configuration needs "
                    + "at most 7); the file was not read further");
            return null;
        } catch (JsonProcessingException e) {
            reportSyntaxError(e, errors);
            return null;
        } catch (IOException e) {
            // the input is an in-memory string: an I/O failure here is a bug, not a user error
            throw new UncheckedIOException(e);
        }
    }

    /** @param depth how deeply this value nests, the document's top value being 1 */
    private YamlNode value(JsonToken token, String path, int depth) throws IOException {
        JsonLocation at = parser.currentTokenLocation();
        int line = at.getLineNr();
        int column = at.getColumnNr();
        // The tree is built recursively: an unbounded depth would overflow the stack (issue 14).
        if (depth > MAX_DEPTH) {
            throw new TooDeep(line, column);
        }
        switch (token) {
            case START_OBJECT:
                return mapping(line, column, path, depth);
            case START_ARRAY:
                List<YamlNode> items = new ArrayList<>();
                JsonToken t;
                while ((t = parser.nextToken()) != JsonToken.END_ARRAY) {
                    items.add(value(t, path + "[" + items.size() + "]", depth + 1));
                }
                return new YamlNode.Sequence(line, column, items);
            default:
                return scalar(token, line, column, path);
        }
    }

    private YamlNode.Mapping mapping(int line, int column, String path, int depth) throws IOException {
        List<YamlNode.Entry> entries = new ArrayList<>();
        Map<String, YamlNode.Entry> seen = new HashMap<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            JsonLocation keyAt = parser.currentTokenLocation();
            String keyPath = path.isEmpty() ? key : path + "." + key;
            YamlNode value = value(parser.nextToken(), keyPath, depth + 1);
            YamlNode.Entry entry = new YamlNode.Entry(key, keyAt.getLineNr(), keyAt.getColumnNr(), value);
            YamlNode.Entry first = seen.putIfAbsent(key, entry);
            if (first != null) {
                errors.at(entry.line(), entry.column(), keyPath, "duplicate key (first set at line " + first.line()
                        + "); YAML would silently keep only the last one, so remove one of them");
                seen.put(key, first);
            } else {
                entries.add(entry);
            }
        }
        return new YamlNode.Mapping(line, column, entries);
    }

    private YamlNode scalar(JsonToken token, int line, int column, String path) throws IOException {
        boolean alias = parser.isCurrentAlias();
        String text = parser.getText();
        if (alias) {
            errors.at(line, column, path, "YAML aliases (*" + text + ") are not supported; write the value out");
        }
        YamlNode.Scalar.Type type = switch (token) {
            case VALUE_NULL -> YamlNode.Scalar.Type.NULL;
            case VALUE_TRUE, VALUE_FALSE -> YamlNode.Scalar.Type.BOOLEAN;
            case VALUE_NUMBER_INT -> YamlNode.Scalar.Type.INT;
            case VALUE_NUMBER_FLOAT -> YamlNode.Scalar.Type.FLOAT;
            default -> YamlNode.Scalar.Type.STRING;
        };
        if (type == YamlNode.Scalar.Type.BOOLEAN) {
            // YAML 1.1 reads yes/no/on/off as booleans; keep the canonical text for messages and parsing
            text = token == JsonToken.VALUE_TRUE ? "true" : "false";
        }
        return new YamlNode.Scalar(line, column, text == null ? "" : text, type, alias);
    }

    private static void reportSyntaxError(JsonProcessingException e, ConfigErrors errors) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
                Mark mark = marked.getProblemMark();
                errors.at(mark.getLine() + 1, mark.getColumn() + 1, "", "YAML syntax error: " + describe(marked));
                return;
            }
        }
        JsonLocation at = e.getLocation();
        String message = e.getOriginalMessage() == null ? e.toString() : e.getOriginalMessage();
        errors.at(at == null ? 0 : at.getLineNr(), at == null ? 0 : at.getColumnNr(), "",
                "YAML syntax error: " + message.lines().findFirst().orElse(message));
    }

    /** snakeyaml's problem and context in our words (not {@code ErrorLine}: the line and column are said apart). */
    private static String describe(MarkedYAMLException e) {
        String problem = e.getProblem() == null ? "invalid YAML" : e.getProblem();
        if (problem.contains("(TAB)")) {
            // snakeyaml's wording embeds a raw tab character in the message
            return "a tab character cannot indent YAML; use spaces";
        }
        StringBuilder text = new StringBuilder(problem.lines().findFirst().orElse(problem));
        if (e.getContext() != null) {
            text.append(' ').append(e.getContext());
            Mark context = e.getContextMark();
            if (context != null) {
                text.append(" started at line ").append(context.getLine() + 1);
            }
        }
        if (problem.contains("<block end>") || problem.contains("<block mapping start>")
                || problem.contains("mapping values are not allowed")) {
            text.append(" (check the indentation)");
        }
        return text.toString();
    }
}
