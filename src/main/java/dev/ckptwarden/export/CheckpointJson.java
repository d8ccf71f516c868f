package dev.ckptwarden.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.Registered;

import java.util.List;
import java.util.Map;

/**
 * The contract's machine output for checkpoints (SPEC "Machine output"). Field names are fixed:
 * scripts depend on them. Non-finite metric values (NaN, Infinity) are written as strings so that
 * strict JSON parsers accept the document. Shared by the command line and the HTTP API so that both
 * speak exactly the same document.
 */
public final class CheckpointJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private CheckpointJson() {
    }

    /** One CKPT object. */
    public static ObjectNode of(Registered c) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("root", c.root());
        n.put("run", c.run());
        n.put("name", c.name());
        n.put("path", c.location());
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
            n.put("alias_of", RemoteLocation.text(c.aliasOf()));
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

    /** {@code {"checkpoints": [CKPT, ...]}}. */
    public static ObjectNode list(List<Registered> checkpoints) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("checkpoints");
        for (Registered c : checkpoints) {
            arr.add(of(c));
        }
        return root;
    }

    /**
     * SPEC "plan --json": {@code {"decisions": [{"path", "run", "action", "reasons"}], "evict_bytes": N}};
     * each decision also names its root and checkpoint name and size (additions, none renamed), and an
     * eviction waiting out a configuration change's grace when it may happen ({@code "not_before"}).
     */
    public static ObjectNode plan(List<Decision> decisions) {
        ObjectNode out = MAPPER.createObjectNode();
        ArrayNode arr = out.putArray("decisions");
        long evictBytes = 0;
        for (Decision d : decisions) {
            Registered c = d.checkpoint();
            ObjectNode n = arr.addObject();
            n.put("path", c.location());
            n.put("run", c.run());
            n.put("action", d.verdict().id());
            ArrayNode reasons = n.putArray("reasons");
            d.reasons().forEach(r -> reasons.add(r.text()));
            n.put("root", c.root());
            n.put("name", c.name());
            n.put("bytes", c.bytes());
            if (d.notBefore() != null) {
                n.put("not_before", d.notBefore().toString());
            }
            if (d.verdict() == Verdict.EVICT) {
                evictBytes += c.bytes();
            }
        }
        out.put("evict_bytes", evictBytes);
        return out;
    }

    /** The document as indented JSON text. */
    public static String write(Object node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
