package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Checkpoint;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The outcome of reconciling one root: every checkpoint present now, what could not be read, and
 * what the pass cost.
 *
 * @param reachable false when the root itself could not be listed, or was not looked at in this pass
 *                  ({@link Reconciler#registered}); nothing was marked gone then
 * @param inspected checkpoints whose headers were read because they were new or changed
 * @param gone      registered checkpoints no longer on disk, marked deleted
 * @param entries   directory entries stat'ed
 */
public record RootScan(
        String root,
        Path path,
        boolean reachable,
        List<Checkpoint> checkpoints,
        List<ScanProblem> problems,
        int inspected,
        int gone,
        long entries,
        Duration took) {
}
