package dev.ckptwarden.catalog.names;

import dev.ckptwarden.catalog.ParsedName;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A user's name template in Python format syntax ({@code weights.{epoch:02d}-{val_loss:.2f}.hdf5}),
 * compiled to match names written by it. Fields named {@code epoch} give the epoch, {@code step} or
 * {@code global_step} the step, any other name a metric.
 *
 * <p>A template matches the name exactly as written; it also matches the form Lightning writes when
 * {@code auto_insert_metric_name} is on ({@code {epoch}-{val_loss:.2f}} written as
 * {@code epoch=3-val_loss=0.12}), so a Lightning {@code filename} can be copied into the configuration as is.
 */
final class NameTemplate {

    /** Python's format spec, restricted to what number fields in checkpoint names use. */
    private static final Pattern SPEC = Pattern.compile(
            "(?<sign>[-+ ])?(?<alt>#)?(?<zero>0)?(?<width>\\d+)?(?<precision>\\.\\d+)?(?<type>[a-zA-Z%])?");

    private enum Kind { EPOCH, STEP, METRIC }

    private record Field(String name, Kind kind, boolean integer) {
    }

    private final String template;
    private final List<Field> fields;
    private final Pattern literal;
    private final Pattern autoInserted;

    private NameTemplate(String template, List<Field> fields, Pattern literal, Pattern autoInserted) {
        this.template = template;
        this.fields = fields;
        this.literal = literal;
        this.autoInserted = autoInserted;
    }

    String template() {
        return template;
    }

    static NameTemplate compile(String template) {
        if (template == null || template.isBlank()) {
            throw new NamePatternException(String.valueOf(template), "is empty");
        }
        List<Field> fields = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        StringBuilder autoInserted = new StringBuilder();
        Set<Kind> counters = new HashSet<>();
        Set<String> names = new HashSet<>();
        boolean lastWasField = false;
        int i = 0;
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c == '{' && i + 1 < template.length() && template.charAt(i + 1) == '{') {
                appendLiteral("{", literal, autoInserted);
                lastWasField = false;
                i += 2;
            } else if (c == '}' && i + 1 < template.length() && template.charAt(i + 1) == '}') {
                appendLiteral("}", literal, autoInserted);
                lastWasField = false;
                i += 2;
            } else if (c == '}') {
                throw new NamePatternException(template,
                        "'}' at position " + (i + 1) + " closes no field (write '}}' for a literal brace)");
            } else if (c == '{') {
                int close = template.indexOf('}', i + 1);
                int nestedOpen = template.indexOf('{', i + 1);
                if (close < 0 || (nestedOpen >= 0 && nestedOpen < close)) {
                    throw new NamePatternException(template,
                            "'{' at position " + (i + 1) + " is not closed by '}' (write '{{' for a literal brace)");
                }
                String body = template.substring(i + 1, close);
                if (lastWasField) {
                    throw new NamePatternException(template, "field {" + body
                            + "} directly follows another field; put a separator between them so the numbers can be told apart");
                }
                Field field = field(template, body);
                if (!names.add(field.name())) {
                    throw new NamePatternException(template, "field {" + field.name() + "} appears twice");
                }
                if (field.kind() != Kind.METRIC && !counters.add(field.kind())) {
                    throw new NamePatternException(template, "more than one field gives the "
                            + field.kind().name().toLowerCase(Locale.ROOT) + " ({step} and {global_step} mean the same)");
                }
                fields.add(field);
                String group = "(" + (field.integer() ? PythonNumber.INT_REGEX : PythonNumber.FLOAT_REGEX) + ")";
                literal.append(group);
                autoInserted.append(Pattern.quote(field.name() + "=")).append(group);
                lastWasField = true;
                i = close + 1;
            } else {
                int next = nextBrace(template, i);
                appendLiteral(template.substring(i, next), literal, autoInserted);
                lastWasField = false;
                i = next;
            }
        }
        if (fields.isEmpty()) {
            throw new NamePatternException(template,
                    "has no {field}, so it cannot tell an epoch, step or metric (example: \"weights.{epoch:02d}-{val_loss:.2f}.hdf5\")");
        }
        return new NameTemplate(template, List.copyOf(fields),
                Pattern.compile(literal.toString()), Pattern.compile(autoInserted.toString()));
    }

    /** The fields of {@code candidate} when the whole of it was written by this template. */
    Optional<ParsedName> match(String candidate) {
        Optional<ParsedName> asWritten = match(literal.matcher(candidate));
        return asWritten.isPresent() ? asWritten : match(autoInserted.matcher(candidate));
    }

    private Optional<ParsedName> match(Matcher m) {
        if (!m.matches()) {
            return Optional.empty();
        }
        Integer epoch = null;
        Long step = null;
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (int g = 0; g < fields.size(); g++) {
            Field field = fields.get(g);
            String text = m.group(g + 1);
            switch (field.kind()) {
                case EPOCH -> {
                    long v = counter(text, Integer.MAX_VALUE);
                    if (v < 0) {
                        return Optional.empty();
                    }
                    epoch = (int) v;
                }
                case STEP -> {
                    long v = counter(text, Long.MAX_VALUE);
                    if (v < 0) {
                        return Optional.empty();
                    }
                    step = v;
                }
                case METRIC -> metrics.put(field.name(), PythonNumber.toDouble(text));
            }
        }
        return Optional.of(new ParsedName(epoch, step, metrics, null, false));
    }

    /** An epoch or step written with a float spec ({@code {epoch:.1f}} gives {@code 3.0}) still counts when whole. */
    private static long counter(String text, long max) {
        long plain = PythonNumber.toCounter(text, max);
        if (plain >= 0) {
            return plain;
        }
        double v = PythonNumber.toDouble(text);
        return v >= 0 && v <= max && v == Math.rint(v) && v < 0x1p53 ? (long) v : -1;
    }

    private static Field field(String template, String body) {
        int colon = body.indexOf(':');
        String name = colon < 0 ? body : body.substring(0, colon);
        String spec = colon < 0 ? "" : body.substring(colon + 1);
        if (name.isEmpty()) {
            throw new NamePatternException(template, "field {" + body + "} has no name (use {epoch}, {step} or a metric name)");
        }
        if (name.chars().allMatch(Character::isDigit)) {
            throw new NamePatternException(template, "field {" + body + "} is positional; name it {epoch}, {step} or a metric name");
        }
        if (name.contains("!") || name.contains("[")) {
            throw new NamePatternException(template, "field {" + body + "}: conversions ('!') and indexing ('[') are not supported");
        }
        Matcher s = SPEC.matcher(spec);
        if (!s.matches()) {
            throw new NamePatternException(template, "field {" + body + "} has format spec '" + spec
                    + "' that is not supported; use forms like d, 02d, .2f, .4f, .2e, g (fill, alignment and grouping are not supported)");
        }
        String type = s.group("type");
        if (type != null && !"dfFeEgG".contains(type)) {
            throw new NamePatternException(template, "field {" + body + "} uses format type '" + type
                    + "'; supported: d, f, F, e, E, g, G or none");
        }
        boolean integerType = "d".equals(type);
        if (integerType && s.group("precision") != null) {
            throw new NamePatternException(template, "field {" + body + "}: precision is not allowed with type 'd'");
        }
        Kind kind = switch (name.toLowerCase(Locale.ROOT)) {
            case "epoch" -> Kind.EPOCH;
            case "step", "global_step" -> Kind.STEP;
            default -> Kind.METRIC;
        };
        boolean integer = integerType || (kind != Kind.METRIC && type == null);
        return new Field(name, kind, integer);
    }

    private static void appendLiteral(String text, StringBuilder literal, StringBuilder autoInserted) {
        String quoted = Pattern.quote(text);
        literal.append(quoted);
        autoInserted.append(quoted);
    }

    private static int nextBrace(String template, int from) {
        int i = from;
        while (i < template.length() && template.charAt(i) != '{' && template.charAt(i) != '}') {
            i++;
        }
        return i;
    }
}
