package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.catalog.Checkpoint;

import java.util.List;
import java.util.Map;

/**
 * The contract's machine output for checkpoints (SPEC "Machine output"). Field names are fixed:
 * scripts depend on them. Non-finite metric values (NaN, Infinity) are written as strings so that
 * strict JSON parsers accept the document.
 */
final class CheckpointJson {
    static final ObjectMapper MAPPER = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private CheckpointJson() {
    }

    static ObjectNode of(Checkpoint c) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("root", c.root());
        n.put("run", c.run());
        n.put("name", c.name());
        n.put("path", c.path().toString());
        n.put("framework", c.framework().id());
        n.put("kind", c.kind().id());
        n.put("state", c.state().id());
        if (c.epoch() == null) {
            n.putNull("epoch");
        } else {
            n.put("epoch", c.epoch());
        }
        if (c.step() == null) {
            n.putNull("step");
        } else {
            n.put("step", c.step());
        }
        ObjectNode metrics = n.putObject("metrics");
        for (Map.Entry<String, Double> m : c.metrics().entrySet()) {
            double v = m.getValue();
            if (Double.isFinite(v)) {
                metrics.put(m.getKey(), v);
            } else {
                metrics.put(m.getKey(), Double.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
            }
        }
        n.put("bytes", c.bytes());
        if (c.resumable() == null) {
            n.putNull("resumable");
        } else {
            n.put("resumable", c.resumable());
        }
        if (c.aliasOf() == null) {
            n.putNull("alias_of");
        } else {
            n.put("alias_of", c.aliasOf().toString());
        }
        n.put("pinned", c.pinned());
        ArrayNode problems = n.putArray("problems");
        c.problems().forEach(problems::add);
        // Additions beyond the contract's fields (allowed: "more may be added, none renamed").
        if (!c.members().isEmpty()) {
            ArrayNode members = n.putArray("members");
            c.members().forEach(members::add);
        }
        if (c.pinReason() != null) {
            n.put("pin_reason", c.pinReason());
        }
        n.put("modified", c.modified().toString());
        if (c.note() != null) {
            n.put("note", c.note());
        }
        return n;
    }

    static ObjectNode list(List<Checkpoint> checkpoints) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("checkpoints");
        for (Checkpoint c : checkpoints) {
            arr.add(of(c));
        }
        return root;
    }

    static String write(Object node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
