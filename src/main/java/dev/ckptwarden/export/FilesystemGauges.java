package dev.ckptwarden.export;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The filesystem gauges of {@link AgentMetrics} ({@code mount} label: the mount point): size, free space and
 * watermark read with one {@code statvfs} per local root on each update, and the full forecast set between
 * updates. Called under the lock of {@link AgentMetrics}; {@link #rootsByMount()} may be read from any thread.
 */
final class FilesystemGauges {
    // Logged under AgentMetrics, the name an operator's logging configuration already knows.
    private static final Logger log = LoggerFactory.getLogger(AgentMetrics.class);

    private final GaugeFamily fsSize;
    private final GaugeFamily fsFree;
    private final GaugeFamily fsMinFree;
    private final GaugeFamily fsForecast;
    private final Map<String, Double> forecasts = new HashMap<>();
    private volatile Map<String, List<String>> rootsByMount = Map.of();

    FilesystemGauges(MeterRegistry registry) {
        fsSize = new GaugeFamily(registry, "ckpt_warden_filesystem_size_bytes", "Size of a filesystem holding roots");
        fsFree = new GaugeFamily(registry, "ckpt_warden_filesystem_free_bytes",
                "Bytes still writable on a filesystem holding roots");
        fsMinFree = new GaugeFamily(registry, "ckpt_warden_filesystem_min_free_bytes",
                "Free-space watermark of a filesystem: the largest disk.min_free of its roots; pressure eviction starts below it");
        fsForecast = new GaugeFamily(registry, "ckpt_warden_filesystem_full_forecast_seconds",
                "Forecast seconds until the filesystem is full at the current growth rate; +Inf when not growing or not within a year");
    }

    /** Reads the filesystems of the local roots and replaces their gauges; forecasts of gone mounts are dropped. */
    void update(Config cfg) {
        Map<String, MountUsage> mounts = new TreeMap<>();
        Map<String, List<String>> byMount = new TreeMap<>();
        Map<String, Long> minFree = new TreeMap<>();
        for (RootConfig r : cfg.roots()) {
            if (!r.isLocal()) {
                continue;
            }
            MountUsage m;
            try {
                Path dir = r.localPath();
                m = MountUsage.of(dir);
            } catch (IOException | RuntimeException e) {
                log.debug("root {}: filesystem not readable for metrics: {}", r.name(), e.toString());
                continue;
            }
            mounts.put(m.mount(), m);
            byMount.computeIfAbsent(m.mount(), k -> new ArrayList<>()).add(r.name());
            long required = r.disk().requiredFree(m.sizeBytes());
            if (required > 0) {
                minFree.merge(m.mount(), required, Math::max);
            }
        }
        Map<Tags, Double> size = new LinkedHashMap<>();
        Map<Tags, Double> free = new LinkedHashMap<>();
        mounts.forEach((mount, m) -> {
            size.put(Tags.of("mount", mount), (double) m.sizeBytes());
            free.put(Tags.of("mount", mount), (double) m.freeBytes());
        });
        Map<Tags, Double> watermark = new LinkedHashMap<>();
        minFree.forEach((mount, bytes) -> watermark.put(Tags.of("mount", mount), (double) bytes));
        fsSize.set(size);
        fsFree.set(free);
        fsMinFree.set(watermark);
        Map<String, List<String>> frozen = new TreeMap<>();
        byMount.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        rootsByMount = Collections.unmodifiableMap(frozen);
        forecasts.keySet().retainAll(mounts.keySet());
        publishForecasts();
    }

    /** See {@link AgentMetrics#rootsByMount()}. */
    Map<String, List<String>> rootsByMount() {
        return rootsByMount;
    }

    /** See {@link AgentMetrics#setFullForecast}. */
    void setFullForecast(String mount, double seconds) {
        if (!rootsByMount.containsKey(mount)) {
            log.debug("forecast for unknown mount {} ignored", mount);
            return;
        }
        forecasts.put(mount, Double.isNaN(seconds) || seconds < 0 ? Double.POSITIVE_INFINITY : seconds);
        publishForecasts();
    }

    private void publishForecasts() {
        Map<Tags, Double> out = new LinkedHashMap<>();
        for (String mount : rootsByMount.keySet()) {
            out.put(Tags.of("mount", mount), forecasts.getOrDefault(mount, Double.POSITIVE_INFINITY));
        }
        fsForecast.set(out);
    }
}
