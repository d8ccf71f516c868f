package dev.ckptwarden.export;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Checkpoints and configurations for export tests, built in code (the registry and metrics take them as they are). */
final class Fixtures {
    static final Instant T0 = Instant.parse("2024-01-09T10:00:00Z");

    private Fixtures() {
    }

    /** A Lightning file checkpoint {@code epoch=E-step=S.ckpt} of {@code bytes}, modified {@code step} seconds after T0. */
    static Registered ckpt(Path rootDir, String root, String run, long step, long bytes, CheckpointState state) {
        String name = "epoch=" + step / 100 + "-step=" + step + ".ckpt";
        Instant modified = T0.plusSeconds(step);
        return new Registered(new Checkpoint(root, run, name, rootDir.resolve(run).resolve(name), List.of(),
                Framework.LIGHTNING, CheckpointKind.FILE, (int) (step / 100), step, Map.of(), bytes, modified, true,
                null, List.of(),
                state == CheckpointState.CORRUPT ? List.of("zip central directory missing") : List.of(),
                "sig-" + step + "-" + bytes), state, null, false, null, modified, modified);
    }

    static Registered withMetric(Registered c, String metric, double value) {
        return c.withFacts(new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(),
                c.epoch(), c.step(), Map.of(metric, value), c.bytes(), c.modified(), c.resumable(), c.aliasOf(),
                c.references(), c.problems(), c.signature()));
    }

    static Registered withResumable(Registered c, Boolean resumable) {
        return c.withFacts(new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(),
                c.epoch(), c.step(), c.metrics(), c.bytes(), c.modified(), resumable, c.aliasOf(), c.references(),
                c.problems(), c.signature()));
    }

    /** {@code last.ckpt}: a byte-identical copy naming {@code target}. */
    static Registered lastAlias(Registered target) {
        Path path = target.path().resolveSibling("last.ckpt");
        return new Registered(new Checkpoint(target.root(), target.run(), "last.ckpt", path, List.of(),
                Framework.LIGHTNING, CheckpointKind.FILE, null, null, Map.of(), target.bytes(),
                target.modified().plusSeconds(3600), true, target.path(), List.of(), List.of(), "sig-last"),
                CheckpointState.COMPLETE, null, false, null, target.modified(), target.modified());
    }

    static RootConfig root(String name, Path dir, Retention retention, Quota quota, DiskWatermark disk) {
        return new RootConfig(name, dir.toString(), Layout.AUTO, List.of(), retention, quota, disk,
                retention == null ? Action.REPORT : Action.DELETE, null, List.of());
    }

    static Config config(Path stateDir, int maxRuns, RootConfig... roots) {
        AgentSettings agent = new AgentSettings(stateDir, "127.0.0.1:0", Duration.ofMinutes(5), Duration.ofSeconds(10),
                "", false, maxRuns);
        return new Config(null, agent, List.of(roots));
    }
}
