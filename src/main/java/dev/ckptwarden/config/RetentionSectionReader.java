package dev.ckptwarden.config;

import java.time.Duration;

/** Reads a {@code retention:} block, at a root or inside an override. */
final class RetentionSectionReader {

    private static final String[] KEYS = {"keep_last", "keep_best", "keep_every", "keep_within"};

    private RetentionSectionReader() {
    }

    /**
     * @param ifEmpty the end of the message for an empty block, which would otherwise silently do nothing
     * @return the block, or null when it is invalid (the errors are recorded)
     */
    static Retention read(YamlNode node, String path, ConfigErrors errors, String ifEmpty) {
        MappingReader m = MappingReader.nonEmpty(node, path, errors, ifEmpty,
                "a mapping of retention rules (keep_last, keep_best, keep_every, keep_within)", KEYS);
        if (m == null) {
            return null;
        }
        int before = errors.count();
        Integer keepLast = m.wholeInt("keep_last", 1);
        KeepBest keepBest = m.has("keep_best") ? keepBest(m.get("keep_best"), m.keyPath("keep_best"), errors) : null;
        KeepEvery keepEvery = m.has("keep_every") ? keepEvery(m.get("keep_every"), m.keyPath("keep_every"), errors) : null;
        Duration keepWithin = m.duration("keep_within", false);
        return errors.count() == before ? new Retention(keepLast, keepBest, keepEvery, keepWithin) : null;
    }

    private static KeepBest keepBest(YamlNode node, String path, ConfigErrors errors) {
        MappingReader m = MappingReader.of(node, path, errors, "a mapping like {k: 3, metric: val_loss, mode: min}",
                "k", "metric", "mode");
        if (m == null) {
            return null;
        }
        Integer k = m.wholeInt("k", 1);
        if (!m.has("k")) {
            m.missing("k", " (how many of the best checkpoints to keep)");
        }
        String metric = m.text("metric", "a metric name like val_loss");
        if (!m.has("metric")) {
            m.missing("metric", " (the metric that ranks checkpoints, like val_loss)");
        } else if (metric != null && metric.isBlank()) {
            m.error("metric", "must not be empty");
            metric = null;
        }
        KeepBest.Mode mode = m.choice("mode", KeepBest.Mode.values());
        if (k == null || metric == null) {
            return null;
        }
        return new KeepBest(k, metric.strip(), mode == null ? KeepBest.Mode.MIN : mode);
    }

    private static KeepEvery keepEvery(YamlNode node, String path, ConfigErrors errors) {
        MappingReader m = MappingReader.of(node, path, errors, "{steps: N} or {epochs: N}", "steps", "epochs");
        if (m == null) {
            return null;
        }
        Long steps = m.whole("steps", 1);
        Integer epochs = m.wholeInt("epochs", 1);
        if (m.has("steps") && m.has("epochs")) {
            errors.at(m.node(), path, "set exactly one of steps or epochs, not both");
            return null;
        }
        if (m.node().entries().isEmpty()) {
            errors.at(m.node(), path, "set steps or epochs, like {steps: 5000}");
            return null;
        }
        if (steps == null && epochs == null) {
            return null;
        }
        return new KeepEvery(steps, epochs);
    }
}
