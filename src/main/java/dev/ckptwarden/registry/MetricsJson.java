package dev.ckptwarden.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Metric maps as JSON objects that every standard parser accepts. JSON has no NaN or infinities, and
 * training does produce them ({@code loss=nan}), so a non-finite value is written as the string
 * {@code "NaN"}, {@code "Infinity"} or {@code "-Infinity"} (the spellings of Java, JavaScript and
 * Python's {@code float()}); finite values stay numbers. Keys are sorted so the output is stable.
 */
final class MetricsJson {
    /** Built on first use: metrics the registry wrote itself are read without it. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private MetricsJson() {
    }

    static ObjectNode toNode(Map<String, Double> metrics) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        for (Map.Entry<String, Double> metric : new TreeMap<>(metrics).entrySet()) {
            double value = metric.getValue();
            if (Double.isFinite(value)) {
                node.put(metric.getKey(), value);
            } else {
                node.put(metric.getKey(), Double.toString(value));
            }
        }
        return node;
    }

    /**
     * Reads a stored metrics column. What {@link #toNode} writes (unescaped keys, numbers with a fraction or
     * exponent, the three non-finite strings) is read by hand: a warm scan reads 20,000 of these, and a Jackson
     * tree per row was a third of that read. Anything else goes through Jackson and {@link #fromNode}.
     */
    static Map<String, Double> parse(String json) throws JsonProcessingException {
        if ("{}".equals(json)) {
            return Map.of();
        }
        Map<String, Double> simple = parseSimple(json);
        return simple != null ? simple : fromNode(Json.MAPPER.readTree(json));
    }

    /** The metrics of a compact object of simple pairs, or null when the text is anything else. */
    private static Map<String, Double> parseSimple(String json) {
        int last = json.length() - 1;
        if (last < 1 || json.charAt(0) != '{' || json.charAt(last) != '}') {
            return null;
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        int i = 1;
        while (true) {
            if (i >= last || json.charAt(i) != '"') {
                return null;
            }
            int close = json.indexOf('"', i + 1);
            if (close < 0 || close + 1 >= last || json.charAt(close + 1) != ':') {
                return null;
            }
            for (int k = i + 1; k < close; k++) {
                char c = json.charAt(k);
                if (c == '\\' || c < 0x20) {
                    return null;
                }
            }
            String key = json.substring(i + 1, close);
            i = close + 2;
            double value;
            int end;
            if (i < last && json.charAt(i) == '"') {
                end = json.indexOf('"', i + 1);
                if (end < 0 || end >= last || !isNonFinite(json.substring(i + 1, end))) {
                    return null;
                }
                value = Double.parseDouble(json.substring(i + 1, end));
                end++;
            } else {
                end = jsonFraction(json, i, last);
                if (end < 0) {
                    return null;
                }
                value = Double.parseDouble(json.substring(i, end));
            }
            if (metrics.put(key, value) != null) {
                return null; // a repeated key: Jackson's reading decides
            }
            if (end == last) {
                return metrics;
            }
            if (json.charAt(end) != ',') {
                return null;
            }
            i = end + 1;
        }
    }

    /**
     * The end of a JSON number starting at {@code from} that has a fraction or an exponent (what
     * {@link Double#toString} writes), or -1. Integers are left to Jackson, which reads -0 as 0.
     */
    private static int jsonFraction(String s, int from, int limit) {
        int i = from;
        if (i < limit && s.charAt(i) == '-') {
            i++;
        }
        int digits = digits(s, i, limit);
        if (digits == 0 || (digits > 1 && s.charAt(i) == '0')) {
            return -1;
        }
        i += digits;
        boolean fractionOrExponent = false;
        if (i < limit && s.charAt(i) == '.') {
            int fraction = digits(s, i + 1, limit);
            if (fraction == 0) {
                return -1;
            }
            i += 1 + fraction;
            fractionOrExponent = true;
        }
        if (i < limit && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            i++;
            if (i < limit && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
            }
            int exponent = digits(s, i, limit);
            if (exponent == 0) {
                return -1;
            }
            i += exponent;
            fractionOrExponent = true;
        }
        return fractionOrExponent ? i : -1;
    }

    private static int digits(String s, int from, int limit) {
        int i = from;
        while (i < limit && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
        }
        return i - from;
    }

    /** Reads what {@link #toNode} wrote; rejects anything else so a damaged column is not half-read. */
    static Map<String, Double> fromNode(JsonNode node) {
        if (!node.isObject()) {
            throw new IllegalArgumentException("metrics must be a JSON object, got " + node.getNodeType());
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            JsonNode value = field.getValue();
            if (value.isNumber()) {
                metrics.put(field.getKey(), value.doubleValue());
            } else if (value.isTextual() && isNonFinite(value.textValue())) {
                metrics.put(field.getKey(), Double.parseDouble(value.textValue()));
            } else {
                throw new IllegalArgumentException("metric " + field.getKey() + " is not a number: " + value);
            }
        }
        return metrics;
    }

    private static boolean isNonFinite(String text) {
        return text.equals("NaN") || text.equals("Infinity") || text.equals("-Infinity");
    }
}
