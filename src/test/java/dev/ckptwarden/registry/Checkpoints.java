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

    static Registered complete(String root, String run, String name, Long step) {
        return new Registered(new Checkpoint(root, run, name, pathOf(root, run, name), List.of(), Framework.LIGHTNING,
                CheckpointKind.FILE, null, step, Map.of(), 1000L, T0, true, null, List.of(), List.of(), "sig-" + name),
                CheckpointState.COMPLETE, null, false, null, T0, T0);
    }

    static Registered withBytes(Registered c, long bytes) {
        return c.withFacts(new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(),
                c.epoch(), c.step(), c.metrics(), bytes, c.modified(), c.resumable(), c.aliasOf(), c.references(),
                c.problems(), c.signature()));
    }

    static Registered withOrdering(Registered c, Integer epoch, Long step, Instant modified) {
        return c.withFacts(new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(),
                epoch, step, c.metrics(), c.bytes(), modified, c.resumable(), c.aliasOf(), c.references(), c.problems(),
                c.signature()));
    }

    static Registered withMetrics(Registered c, Map<String, Double> metrics) {
        return c.withFacts(new Checkpoint(c.root(), c.run(), c.name(), c.path(), c.members(), c.framework(), c.kind(),
                c.epoch(), c.step(), metrics, c.bytes(), c.modified(), c.resumable(), c.aliasOf(), c.references(),
                c.problems(), c.signature()));
    }

    /** A checkpoint with every field set: non-finite metrics, members, references, a pin, problems, a unicode note, nanosecond times. */
    static Registered everyFieldSet() {
        Map<String, Double> metrics = Map.of(
                "val/loss", 0.1234,
                "lr", 1e-05,
                "delta", -0.5,
                "negative_zero", -0.0,
                "huge", Double.MAX_VALUE,
                "tiny", Double.MIN_VALUE,
                "train_loss", Double.NaN,
                "ppl", Double.POSITIVE_INFINITY,
                "margin", Double.NEGATIVE_INFINITY);
        return new Registered(new Checkpoint("/data/checkpoints", "llada8b/sft run", "epoch=1-val/loss=0.12.ckpt",
                Path.of("/data/checkpoints/llada8b/sft run/epoch=1-val/loss=0.12.ckpt"),
                List.of("shard-00001-of-00002.safetensors", "shard-00002-of-00002.safetensors"), Framework.HUGGINGFACE,
                CheckpointKind.DIRECTORY, 1, 9_000_000_000L, metrics, 7_400_000_000L,
                Instant.parse("2024-01-09T09:59:58.123456789Z"), Boolean.FALSE,
                Path.of("/data/checkpoints/llada8b/sft run/best.ckpt"),
                List.of(Path.of("/data/checkpoints/llada8b/sft run/epoch=0-val/loss=0.10.ckpt")),
                List.of("zip central directory missing", "shard 2 shorter than header says"),
                "41:1704794398123456789;7:1704794398000000001"), CheckpointState.CORRUPT,
                "settled at 7.4 GB — ünïcode note", true, "paper baseline, ask Ana",
                Instant.parse("2024-01-09T10:00:00.000001Z"), Instant.parse("2024-01-09T10:05:00.5Z"));
    }
}
