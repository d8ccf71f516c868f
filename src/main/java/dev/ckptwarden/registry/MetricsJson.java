package dev.ckptwarden.registry;

import com.fasterxml.jackson.databind.JsonNode;
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
