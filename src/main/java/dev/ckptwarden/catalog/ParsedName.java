package dev.ckptwarden.catalog;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a checkpoint's name says about it. Every field is optional: a name that parses to nothing
 * is still a checkpoint when its extension or layout says so.
 *
 * @param epoch   epoch number, or null
 * @param step    global step (or batch for Composer, iteration for Megatron), or null
 * @param metrics metric name to value, in the order they appear in the name (NaN and infinities allowed)
 * @param version Lightning's duplicate-name suffix {@code -vN}, or null
 * @param last    true for {@code last.ckpt}, {@code last-vN.ckpt} and names ending in {@code -last}
 */
public record ParsedName(Integer epoch, Long step, Map<String, Double> metrics, Integer version, boolean last) {

    public static final ParsedName EMPTY = new ParsedName(null, null, Map.of(), null, false);

    public ParsedName {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    public boolean isEmpty() {
        return epoch == null && step == null && metrics.isEmpty() && version == null && !last;
    }

    /** Fills fields this name lacks from {@code other} (a sidecar or the checkpoint's own metadata). */
    public ParsedName orElse(ParsedName other) {
        Map<String, Double> merged = new LinkedHashMap<>(other.metrics);
        merged.putAll(metrics);
        return new ParsedName(
                epoch != null ? epoch : other.epoch,
                step != null ? step : other.step,
                merged,
                version != null ? version : other.version,
                last || other.last);
    }
}
