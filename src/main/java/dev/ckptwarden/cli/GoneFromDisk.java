package dev.ckptwarden.cli;

import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.watch.Reconciler;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Clock;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Before {@code ls}, {@code plan} or {@code pin} answer from the registry: a registered checkpoint whose
 * path is no longer on disk (removed by hand while no agent was running) makes its run directory be looked
 * at again, the way {@code resolve} looks at a run, so that the answer never lists, plans or pins a
 * checkpoint that is gone. One {@code lstat} per registered local checkpoint; a run is read again only
 * when one of its checkpoints is missing. Remote roots are left to the agent's polling.
 */
final class GoneFromDisk {
    private GoneFromDisk() {
    }

    /**
     * Looks again at every run directory with a registered, present checkpoint that is not on disk.
     *
     * @return true when some run was looked at again (the caller reads the registry again)
     */
    static boolean lookAgain(Config cfg, Registry registry, Collection<Registered> registered) {
        Map<String, Set<String>> runsByRoot = new LinkedHashMap<>();
        for (Registered c : registered) {
            if (c.state().present() && !RemoteLocation.isRemote(c.path())
                    && !Files.exists(c.path(), LinkOption.NOFOLLOW_LINKS)) {
                runsByRoot.computeIfAbsent(c.root(), r -> new LinkedHashSet<>()).add(c.run());
            }
        }
        if (runsByRoot.isEmpty()) {
            return false;
        }
        try (Reconciler reconciler = new Reconciler(registry, Clock.systemUTC())) {
            runsByRoot.forEach((rootName, runs) -> {
                RootConfig root = cfg.root(rootName);
                if (root != null && root.isLocal()) {
                    runs.forEach(run -> reconciler.reconcileRun(cfg, root, run));
                }
            });
        }
        return true;
    }
}
