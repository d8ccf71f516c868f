package dev.ckptwarden.export;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.GrowthForecast;
import dev.ckptwarden.policy.PressurePlanner;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SizeChange;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per filesystem: size, free bytes, growth rate (from the registry's history, see {@link GrowthForecast}),
 * time until free space reaches the watermark, and how many more saves each run can make. What
 * {@code forecast} prints and what the full-forecast metric exports.
 *
 * @param growthBytesPerSecond net growth over the last {@link #WINDOW}
 * @param fullInSeconds        null when not growing, or when full is further away than {@link GrowthForecast#HORIZON}
 * @param watermarkBytes       the strictest {@code disk} watermark of the roots on it (0 when none)
 */
public record FilesystemForecast(String mount, long sizeBytes, long freeBytes, long watermarkBytes,
                                 double growthBytesPerSecond, Double fullInSeconds, List<RunFit> runs) {

    /** The window the growth rate is estimated over. */
    public static final Duration WINDOW = Duration.ofHours(24);

    /** How many more saves of the run's typical size fit above the watermark. */
    public record RunFit(String root, String run, long typicalBytes, long checkpointsThatFit) {
    }

    /** Forecasts every filesystem holding a reachable local root of the configuration. */
    public static List<FilesystemForecast> compute(Config cfg, Registry registry, Instant now) {
        Map<String, MountUsage> usage = new LinkedHashMap<>();
        Map<String, List<RootConfig>> rootsByMount = new TreeMap<>();
        for (RootConfig r : cfg.roots()) {
            if (!r.isLocal()) {
                continue;
            }
            try {
                MountUsage u = MountUsage.of(r.localPath());
                usage.putIfAbsent(u.mount(), u);
                rootsByMount.computeIfAbsent(u.mount(), k -> new ArrayList<>()).add(r);
            } catch (IOException e) {
                // A root whose file system cannot be read has nothing to forecast.
            }
        }
        List<FilesystemForecast> out = new ArrayList<>();
        for (Map.Entry<String, List<RootConfig>> e : rootsByMount.entrySet()) {
            MountUsage u = usage.get(e.getKey());
            long watermark = 0;
            List<RunFit> fits = new ArrayList<>();
            List<String> roots = new ArrayList<>();
            for (RootConfig r : e.getValue()) {
                watermark = Math.max(watermark, r.disk().requiredFree(u.sizeBytes()));
                roots.add(r.name());
                // The typical saves run by run: never every checkpoint at once.
                PresentRuns.registered(registry, r.name(), c -> c.state() == CheckpointState.COMPLETE && c.aliasOf() == null)
                        .forEachRun(run -> fits.add(new RunFit(r.name(), run.get(0).run(),
                                PressurePlanner.typicalSaveBytes(run), 0)));
            }
            // The history summed before the window by the database and streamed through it: never held whole.
            Instant start = now.minus(WINDOW);
            SizeChange.Totals totals = registry.sizeChangeTotals(roots, start, now);
            GrowthForecast.Series series = new GrowthForecast.Series(now, WINDOW, totals.bytesBefore(), totals.inWindow());
            registry.sizeChanges(roots, start, now, c -> series.add(c.at(), c.deltaBytes()));
            double rate = series.bytesPerSecond();
            long wm = watermark;
            List<RunFit> withFit = fits.stream().map(f -> new RunFit(f.root(), f.run(), f.typicalBytes(),
                    GrowthForecast.checkpointsThatFit(u.freeBytes(), wm, f.typicalBytes()))).toList();
            out.add(new FilesystemForecast(u.mount(), u.sizeBytes(), u.freeBytes(), watermark, rate,
                    GrowthForecast.secondsUntilFull(u.freeBytes(), watermark, rate), withFit));
        }
        return out;
    }
}
