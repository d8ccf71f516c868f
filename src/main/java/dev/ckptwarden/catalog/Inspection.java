package dev.ckptwarden.catalog;

import java.nio.file.Path;
import java.util.List;

/**
 * What reading a checkpoint's headers and sidecars found: the part of recognition that costs I/O
 * beyond a stat, done only when a checkpoint is new or changed.
 *
 * @param framework  the framework, possibly refined from content (a .ckpt written by NeMo)
 * @param content    epoch/step/metrics from sidecars or embedded metadata, filling what the name lacks
 * @param resumable  optimizer state present (true), weights only (false), unknown (null)
 * @param problems   format-check findings; non-empty means corrupt once settled
 * @param inProgress non-null when the framework's own signal says the save is not finished, with why
 * @param aliasOf    the checkpoint this one is an alias of (DeepSpeed {@code latest}, a symlink), or null
 * @param references checkpoints this one names as special (HF {@code best_model_checkpoint}), resolved to paths
 * @param notACheckpoint non-null when the content shows this is not a checkpoint at all (a Git LFS
 *                   pointer, an HTML error page), with why; such a candidate is dropped
 */
public record Inspection(
        Framework framework,
        ParsedName content,
        Boolean resumable,
        List<String> problems,
        String inProgress,
        Path aliasOf,
        List<Path> references,
        String notACheckpoint) {

    public Inspection {
        problems = List.copyOf(problems);
        references = List.copyOf(references);
    }

    public static Inspection of(Framework framework, ParsedName content, Boolean resumable, List<String> problems) {
        return new Inspection(framework, content, resumable, problems, null, null, List.of(), null);
    }

    public Inspection inProgress(String why) {
        return new Inspection(framework, content, resumable, problems, why, aliasOf, references, notACheckpoint);
    }

    public static Inspection rejected(String reason) {
        return new Inspection(Framework.UNKNOWN, ParsedName.EMPTY, null, List.of(), null, null, List.of(), reason);
    }

    public Inspection withAlias(Path target) {
        return new Inspection(framework, content, resumable, problems, inProgress, target, references, notACheckpoint);
    }

    public Inspection withFramework(Framework f) {
        return new Inspection(f, content, resumable, problems, inProgress, aliasOf, references, notACheckpoint);
    }
}
