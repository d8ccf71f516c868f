package dev.ckptwarden.registry;

import java.time.Duration;

/**
 * Leases for the simulation's cluster mode, whose holders' own clocks never move: {@link Lease#held()} then
 * answers from the token alone, as a process does that was frozen (SIGSTOP, a paused VM) right after its last
 * check. Whether it still holds the lease is then only what the database says: the fencing check is what is tested.
 */
public final class SimulatedLeases {
    private SimulatedLeases() {
    }

    /** The enforcement lease of {@code registry} for {@code holder}, its local clock frozen. */
    public static Lease frozen(PostgresRegistry registry, String holder, Duration ttl) {
        return new Lease(registry.dataSource(), registry.location(), Lease.ENFORCEMENT, holder, ttl, () -> 0L);
    }

    /** Lets the enforcement lease run out now, by the database's clock: as if its lifetime had passed. */
    public static void expireNow(PostgresServer server, String url) {
        server.execute(url, "UPDATE leases SET expires_at = now() - INTERVAL '1 millisecond' WHERE name = '"
                + Lease.ENFORCEMENT + "'");
    }
}
