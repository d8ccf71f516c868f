package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Checkpoints for registry tests: plain complete Lightning files under ROOT/RUN (a relative ROOT under /data). */
final class Checkpoints {

    static final Instant T0 = Instant.parse("2024-01-09T10:00:00Z");

    private Checkpoints() {
    }

    static Path pathOf(String root, String run, String name) {
        Path rootPath = root.startsWith("/") ? Path.of(root) : Path.of("/data", root);
        return rootPath.resolve(run).resolve(name).normalize();
    }

    static Checkpoint complete(String root, String run, String name, Long step) {
        return new Checkpoint(root, run, name, pathOf(root, run, name), List.of(), Framework.LIGHTNING,
                CheckpointKind.FILE, CheckpointState.COMPLETE, null, step, Map.of(), 1000L, T0, true, null, List.of(),
                false, null, List.of(), "sig-" + name, T0, T0, null);
    }

    static Checkpoint withBytes(Checkpoint c, long bytes) {
        return new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(), c.state(),
                c.epoch(), c.step(), c.metrics(), bytes, c.modified(), c.resumable(), c.aliasOf(), c.references(), c.pinned(),
                c.pinReason(), c.problems(), c.signature(), c.firstSeen(), c.stateSince(), c.note());
    }

    static Checkpoint withOrdering(Checkpoint c, Integer epoch, Long step, Instant modified) {
        return new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(), c.state(),
                epoch, step, c.metrics(), c.bytes(), modified, c.resumable(), c.aliasOf(), c.references(), c.pinned(),
                c.pinReason(), c.problems(), c.signature(), c.firstSeen(), c.stateSince(), c.note());
    }

    static Checkpoint withMetrics(Checkpoint c, Map<String, Double> metrics) {
        return new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(), c.state(),
                c.epoch(), c.step(), metrics, c.bytes(), c.modified(), c.resumable(), c.aliasOf(), c.references(), c.pinned(),
                c.pinReason(), c.problems(), c.signature(), c.firstSeen(), c.stateSince(), c.note());
    }
}
