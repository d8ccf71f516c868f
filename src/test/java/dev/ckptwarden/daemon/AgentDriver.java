package dev.ckptwarden.daemon;

import java.nio.file.Path;
import java.util.List;

/**
 * Drives an {@link Agent}'s passes by hand from tests outside this package (the simulation campaign):
 * no watcher or scheduler runs, so a pass happens exactly where the schedule puts it.
 */
public final class AgentDriver {
    private AgentDriver() {
    }

    /** The pass the agent runs at start (recovery, full reconcile, enforcement). */
    public static void startup(Agent agent) {
        agent.run(PassKind.STARTUP);
    }

    /** Cluster mode: the lease renewal the schedule runs every {@code agent.lease_renewal}. */
    public static void renew(Agent agent) {
        agent.renewLease();
    }

    /** A full periodic pass. */
    public static void periodic(Agent agent) {
        agent.run(PassKind.PERIODIC);
    }

    /** A watch event in {@code dir} followed by the event pass it schedules. */
    public static void event(Agent agent, String root, Path dir, int n) {
        agent.dirty(root, dir);
        agent.run(PassKind.EVENT);
    }

    /** The watcher saw the kernel's queue overflow (an OVERFLOW event): anything under the root may have changed. */
    public static void overflow(Agent agent, String root, int n) {
        agent.dirty(root, null);
        agent.run(PassKind.EVENT);
    }

    /** A burst of {@code events} watch events spread over {@code dirs}, then the one event pass they coalesce into. */
    public static void flood(Agent agent, String root, List<Path> dirs, int events, int n) {
        for (int i = 0; i < events && !dirs.isEmpty(); i++) {
            agent.dirty(root, dirs.get(i % dirs.size()));
        }
        agent.run(PassKind.EVENT);
    }
}
