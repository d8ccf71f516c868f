package dev.ckptwarden.policy;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds test checkpoints of one run without spelling out all of the record's components. */
final class CheckpointFixture {

    static final Instant T0 = Instant.parse("2024-01-09T10:00:00Z");
    static final Path RUN_DIR = Path.of("/data/ckpt/run1");

    private String root = "/data/ckpt";
    private String run = "run1";
    private final String name;
    private Path dir = RUN_DIR;
    private CheckpointState state = CheckpointState.COMPLETE;
    private Integer epoch;
    private Long step;
    private final Map<String, Double> metrics = new LinkedHashMap<>();
    private Instant modified = T0;
    /** When the registry saw it complete; null: when it was modified. */
    private Instant completed;
    private Boolean resumable;
    private Path aliasOf;
    private long bytes = 1000;
    private final List<Path> references = new java.util.ArrayList<>();
    private boolean pinned;
    private String pinReason;

    private CheckpointFixture(String name) {
        this.name = name;
    }

    static CheckpointFixture ckpt(String name) {
        return new CheckpointFixture(name);
    }

    /** The path a checkpoint of this name gets in the default run, for aliasOf. */
    static Path pathOf(String name) {
        return RUN_DIR.resolve(name);
    }

    CheckpointFixture run(String root, String run) {
        this.root = root;
        this.run = run;
        this.dir = Path.of(root).resolve(run);
        return this;
    }

    CheckpointFixture bytes(long b) {
        this.bytes = b;
        return this;
    }

    CheckpointFixture step(long s) {
        this.step = s;
        return this;
    }

    CheckpointFixture epoch(int e) {
        this.epoch = e;
        return this;
    }

    CheckpointFixture metric(String metric, double value) {
        metrics.put(metric, value);
        return this;
    }

    /** Modified this many minutes after {@link #T0}. */
    CheckpointFixture at(long minutes) {
        this.modified = T0.plusSeconds(60 * minutes);
        return this;
    }

    CheckpointFixture modified(Instant when) {
        this.modified = when;
        return this;
    }

    /** Seen complete by the registry this many minutes after {@link #T0} (default: when it was modified). */
    CheckpointFixture completedAt(long minutes) {
        this.completed = T0.plusSeconds(60 * minutes);
        return this;
    }

    CheckpointFixture state(CheckpointState s) {
        this.state = s;
        return this;
    }

    CheckpointFixture resumable(Boolean r) {
        this.resumable = r;
        return this;
    }

    CheckpointFixture aliasOf(String targetName) {
        this.aliasOf = dir.resolve(targetName);
        return this;
    }

    /** This checkpoint names another of the run as best (HF best_model_checkpoint, Lightning best_model_path). */
    CheckpointFixture namesBest(String targetName) {
        this.references.add(dir.resolve(targetName));
        return this;
    }

    CheckpointFixture aliasOfPath(Path target) {
        this.aliasOf = target;
        return this;
    }

    CheckpointFixture pinned(String reason) {
        this.pinned = true;
        this.pinReason = reason;
        return this;
    }

    Registered build() {
        return new Registered(new Checkpoint(root, run, name, dir.resolve(name), List.of(), Framework.LIGHTNING,
                CheckpointKind.FILE, epoch, step, metrics, bytes, modified, resumable, aliasOf, references, List.of(),
                "sig-" + name), state, null, pinned, pinReason, modified, completed != null ? completed : modified);
    }
}
