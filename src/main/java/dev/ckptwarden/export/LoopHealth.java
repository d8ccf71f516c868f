package dev.ckptwarden.export;

import java.util.ArrayList;
import java.util.List;

/**
 * Whether each of the agent's loops is alive, as {@code /healthz} reports it.
 *
 * @param watcher   the file system watcher thread runs
 * @param scheduler the scheduler that runs reconcile passes is started and not shut down
 * @param reconcile a reconcile pass ended recently (within two intervals): it finished, or it stopped
 *                  because the registry did not answer (an outage the registry health reports, not a dead loop)
 */
public record LoopHealth(boolean watcher, boolean scheduler, boolean reconcile) {

    /** The names of the loops that are not alive, in a fixed order; empty when all are. */
    public List<String> failing() {
        List<String> out = new ArrayList<>(3);
        if (!watcher) {
            out.add("watcher");
        }
        if (!scheduler) {
            out.add("scheduler");
        }
        if (!reconcile) {
            out.add("reconcile");
        }
        return out;
    }
}
