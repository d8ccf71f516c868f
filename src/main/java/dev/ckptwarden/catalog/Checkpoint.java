package dev.ckptwarden.catalog;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One checkpoint as the catalog recognised it on disk: where it is, what its names and headers say, its
 * size and times, and what is wrong with it. Nothing here is the registry's (life-cycle state, pin, first
 * seen, state since: {@code registry.Registered}); the state the catalog judges from these facts travels
 * beside them ({@link Recognised}). Immutable.
 *
 * @param root       the configured root's name (its path as written in the configuration)
 * @param run        run id: the path of the run directory relative to the root ("." for the root itself)
 * @param name       checkpoint name relative to the run directory (may contain '/' for Lightning
 *                   metric names such as {@code epoch=1-val/loss=0.12.ckpt})
 * @param path       absolute path of the checkpoint (file, directory, or for multi-file formats the
 *                   path prefix a framework loads, e.g. TensorFlow's {@code training-3000})
 * @param members    for multi-file checkpoints (TensorFlow index + data shards, a sharded safetensors
 *                   set), the names of its files relative to the run directory; empty otherwise
 * @param bytes      total size on disk of all its files
 * @param modified   newest modification time among its files
 * @param resumable  true if optimizer state is present, false for weights-only, null if unknown
 * @param aliasOf    for an alias (last.ckpt copy or symlink, DeepSpeed {@code latest}), the checkpoint it points at
 * @param references checkpoints this one names as the best (HF {@code best_model_checkpoint}, Lightning's
 *                   {@code best_model_path}); such targets are protected like alias targets
 * @param problems   integrity findings, human readable ("zip central directory missing")
 * @param signature  cheap change detector over the files' sizes and mtimes; equal signature means unchanged
 */
public record Checkpoint(
        String root,
        String run,
        String name,
        Path path,
        List<String> members,
        Framework framework,
        CheckpointKind kind,
        Integer epoch,
        Long step,
        Map<String, Double> metrics,
        long bytes,
        Instant modified,
        Boolean resumable,
        Path aliasOf,
        List<Path> references,
        List<String> problems,
        String signature) {

    public Checkpoint {
        members = List.copyOf(members);
        references = references == null ? List.of() : List.copyOf(references);
        metrics = Map.copyOf(metrics);
        problems = List.copyOf(problems);
    }

    /** Where it is, as users see it: its path, or for a checkpoint on a remote root its URI. */
    public String location() {
        return RemoteLocation.text(path);
    }

    /** Identifies the checkpoint within the registry. */
    public String key() {
        return path.toString();
    }

    public Checkpoint withAlias(Path target) {
        return new Checkpoint(root, run, name, path, members, framework, kind, epoch, step, metrics, bytes,
                modified, resumable, target, references, problems, signature);
    }

    /** This alias with its target's epoch, step, metrics and resumability where it has none of its own. */
    public Checkpoint withFactsOf(Checkpoint target) {
        return new Checkpoint(root, run, name, path, members, framework, kind,
                epoch != null ? epoch : target.epoch, step != null ? step : target.step,
                metrics.isEmpty() ? target.metrics : metrics, bytes, modified,
                resumable != null ? resumable : target.resumable, aliasOf, references, problems, signature);
    }
}
