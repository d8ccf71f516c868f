package dev.ckptwarden.export;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One gauge name with a series per label set, all values replaced at once from a snapshot. A scrape
 * reads the current map (a hash lookup per series, never disk or database); series absent from the
 * newest snapshot are removed, so a run that disappears takes its series with it.
 */
final class GaugeFamily {
    private final MultiGauge gauge;
    private volatile Map<Tags, Double> values = Map.of();

    GaugeFamily(MeterRegistry registry, String name, String help) {
        this.gauge = MultiGauge.builder(name).description(help).register(registry);
    }

    /** Replaces every series; called by one thread at a time. */
    synchronized void set(Map<Tags, Double> next) {
        Map<Tags, Double> fresh = Map.copyOf(next);
        // While rows are swapped, both old and new series read a value: a scrape in between sees no NaN.
        Map<Tags, Double> both = new HashMap<>(values);
        both.putAll(fresh);
        values = both;
        List<MultiGauge.Row<?>> rows = new ArrayList<>(fresh.size());
        for (Tags tags : fresh.keySet()) {
            rows.add(MultiGauge.Row.of(tags, tags, this::read));
        }
        gauge.register(rows, false);
        values = fresh;
    }

    /** Sets or replaces one series, keeping the others. */
    synchronized void put(Tags tags, double value) {
        Map<Tags, Double> next = new HashMap<>(values);
        next.put(tags, value);
        set(next);
    }

    Map<Tags, Double> values() {
        return values;
    }

    private double read(Tags tags) {
        Double v = values.get(tags);
        return v == null ? Double.NaN : v;
    }
}
