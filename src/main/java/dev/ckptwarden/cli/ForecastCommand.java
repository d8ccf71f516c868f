package dev.ckptwarden.cli;

import dev.ckptwarden.config.ByteSize;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.export.FilesystemForecast;
import dev.ckptwarden.policy.GrowthForecast;
import dev.ckptwarden.registry.Registry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code forecast}: per filesystem free bytes, growth rate, time until full, saves that still fit. */
@Command(name = "forecast", description = "Per filesystem: free bytes, growth rate, time until full, checkpoints that still fit.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden forecast",
                "  ckpt-warden forecast --json"})
final class ForecastCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--json", description = "machine output")
    boolean json;

    @Override
    public Integer call() {
        Config cfg = config.load();
        List<FilesystemForecast> forecasts;
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            forecasts = FilesystemForecast.compute(cfg, registry, Clock.systemUTC().instant());
        }
        if (json) {
            ObjectNode out = CheckpointJson.MAPPER.createObjectNode();
            ArrayNode fss = out.putArray("filesystems");
            for (FilesystemForecast f : forecasts) {
                ObjectNode n = fss.addObject();
                n.put("mount", f.mount());
                n.put("size_bytes", f.sizeBytes());
                n.put("free_bytes", f.freeBytes());
                n.put("min_free_bytes", f.watermarkBytes());
                n.put("growth_bytes_per_second", f.growthBytesPerSecond());
                if (f.fullInSeconds() == null) {
                    n.putNull("full_in_seconds");
                } else {
                    n.put("full_in_seconds", f.fullInSeconds());
                }
                ArrayNode runs = n.putArray("runs");
                for (FilesystemForecast.RunFit r : f.runs()) {
                    ObjectNode rn = runs.addObject();
                    rn.put("root", r.root());
                    rn.put("run", r.run());
                    rn.put("typical_checkpoint_bytes", r.typicalBytes());
                    rn.put("checkpoints_that_fit", r.checkpointsThatFit());
                }
            }
            System.out.println(CheckpointJson.write(out));
            return ExitCode.OK;
        }
        for (FilesystemForecast f : forecasts) {
            System.out.println(summary(f));
            Table t = new Table("ROOT", "RUN", "TYPICAL SIZE", "SAVES THAT FIT");
            f.runs().forEach(r -> t.row(r.root(), r.run(), ByteSize.format(r.typicalBytes()), r.checkpointsThatFit()));
            if (!t.isEmpty()) {
                t.print(System.out);
            }
        }
        return ExitCode.OK;
    }

    /**
     * One line per filesystem: space, the growth rate, and when it fills. A fill further away than
     * {@link GrowthForecast#HORIZON} is "not filling" (the rate still says how fast it grows).
     */
    static String summary(FilesystemForecast f) {
        long perHour = Math.round(f.growthBytesPerSecond() * 3600);
        String growth = perHour > 0 ? "growing " + ByteSize.format(perHour) + "/h"
                : perHour < 0 ? "shrinking " + ByteSize.format(-perHour) + "/h" : "not growing";
        String full = f.fullInSeconds() != null ? "full in " + human(Duration.ofSeconds(f.fullInSeconds().longValue()))
                : perHour > 0 ? "not filling within " + GrowthForecast.HORIZON.toDays() + " days" : "not filling";
        return String.format(Locale.ROOT, "%s: %s free of %s (watermark %s), %s: %s", TerminalText.escape(f.mount()),
                ByteSize.format(f.freeBytes()), ByteSize.format(f.sizeBytes()), ByteSize.format(f.watermarkBytes()),
                growth, full);
    }

    private static String human(Duration d) {
        if (d.toDays() >= 2) {
            return d.toDays() + " days";
        }
        if (d.toHours() >= 1) {
            return d.toHours() + " h " + d.toMinutesPart() + " min";
        }
        return d.toMinutes() + " min";
    }
}
