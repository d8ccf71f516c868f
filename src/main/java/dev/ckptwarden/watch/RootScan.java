package dev.ckptwarden.watch;

import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registered;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The outcome of reconciling one root: the checkpoints present now (handed over run by run, from the
 * registry: the scan does not hold them), what could not be read, and what the pass cost.
 *
 * @param reachable false when the root itself could not be listed, or was not looked at in this pass
 *                  ({@link Reconciler#registered}); nothing was marked gone then
 * @param present   the root's present checkpoints, run by run, as the registry has them when visited
 * @param inspected checkpoints whose headers were read because they were new or changed
 * @param gone      registered checkpoints no longer on disk, marked deleted
 * @param entries   directory entries stat'ed
 */
public record RootScan(
        String root,
        Path path,
        boolean reachable,
        PresentRuns present,
        List<ScanProblem> problems,
        int inspected,
        int gone,
        long entries,
        Duration took) {

    /** A scan of checkpoints already in hand. */
    public RootScan(String root, Path path, boolean reachable, List<Registered> checkpoints, List<ScanProblem> problems,
                    int inspected, int gone, long entries, Duration took) {
        this(root, path, reachable, PresentRuns.of(checkpoints), problems, inspected, gone, entries, took);
    }

    /**
     * This scan with its checkpoints read now and held: for a caller that closes the registry before it
     * looks at them (the scan itself reads them from the registry when visited).
     */
    public RootScan inHand() {
        return new RootScan(root, path, reachable, checkpoints(), problems, inspected, gone, entries, took);
    }

    /** Every present checkpoint at once (read from the registry at each call): for listings and tests, not passes. */
    public List<Registered> checkpoints() {
        return present.all();
    }
}
