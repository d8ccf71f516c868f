package dev.ckptwarden.daemon;

import dev.ckptwarden.export.RegistryHealth;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.RegistryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster mode: takes or renews the enforcement lease, every {@code agent.lease_renewal} and once before
 * the first pass. When the lease is newly held, {@code onTaken} runs (the agent finishes what a previous
 * holder left in the trash before deleting anything itself). Never throws: the schedule must go on.
 */
final class LeaseJob implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private final Lease lease;
    private final RegistryHealth registryHealth;
    private final Runnable onTaken;

    LeaseJob(Lease lease, RegistryHealth registryHealth, Runnable onTaken) {
        this.lease = lease;
        this.registryHealth = registryHealth;
        this.onTaken = onTaken;
    }

    @Override
    public void run() {
        try {
            boolean before = lease.held();
            boolean held = lease.acquire();
            registryHealth.succeeded();
            if (held && !before) {
                onTaken.run();
            }
        } catch (RuntimeException e) {
            if (e instanceof RegistryException r && registryHealth.failed(r)) {
                return; // an outage: logged once by the registry health, not at every renewal
            }
            log.warn("lease {}: renewal failed, this agent does not delete until it succeeds: {}", lease.name(),
                    e.getMessage());
        }
    }
}
