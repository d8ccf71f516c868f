package dev.ckptwarden.daemon;

import java.nio.file.Path;

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

    /** A full periodic pass. */
    public static void periodic(Agent agent) {
        agent.run(PassKind.PERIODIC);
    }

    /** A watch event in {@code dir} followed by the event pass it schedules. */
    public static void event(Agent agent, String root, Path dir, int n) {
        agent.dirty(root, dir);
        agent.run(PassKind.EVENT);
    }
}
