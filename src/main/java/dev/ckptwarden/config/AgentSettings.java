package dev.ckptwarden.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code agent:} section.
 *
 * @param policyChangeGrace how long evictions that a reload newly brings wait (announced, and listed by
 *                          {@code plan}) before they happen; zero: at once. Pressure evictions never wait.
 * @param leaseTime         cluster mode: how long the enforcement lease lasts without renewal (a stopped or cut-off
 *                          holder is replaced after at most this long); unused without {@code cluster: true}
 * @param leaseRenewal      cluster mode: how often the lease is renewed (and a free one taken); at most half of
 *                          {@code leaseTime}
 */
public record AgentSettings(
        Path stateDir,
        String listen,
        Duration reconcileInterval,
        Duration settleTime,
        String registryUrl,
        boolean cluster,
        int metricsMaxRuns,
        Duration policyChangeGrace,
        Duration leaseTime,
        Duration leaseRenewal) {

    public static final String DEFAULT_LISTEN = "127.0.0.1:9847";
    public static final Duration DEFAULT_POLICY_CHANGE_GRACE = Duration.ofMinutes(5);
    public static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(30);
    public static final Duration DEFAULT_LEASE_RENEWAL = Duration.ofSeconds(10);

    /** Settings with the default lease time and renewal. */
    public AgentSettings(Path stateDir, String listen, Duration reconcileInterval, Duration settleTime, String registryUrl,
                         boolean cluster, int metricsMaxRuns, Duration policyChangeGrace) {
        this(stateDir, listen, reconcileInterval, settleTime, registryUrl, cluster, metricsMaxRuns, policyChangeGrace,
                DEFAULT_LEASE_TIME, DEFAULT_LEASE_RENEWAL);
    }

    /** Settings with the default {@code policy_change_grace}. */
    public AgentSettings(Path stateDir, String listen, Duration reconcileInterval, Duration settleTime, String registryUrl,
                         boolean cluster, int metricsMaxRuns) {
        this(stateDir, listen, reconcileInterval, settleTime, registryUrl, cluster, metricsMaxRuns,
                DEFAULT_POLICY_CHANGE_GRACE);
    }

    public static AgentSettings defaults(Path stateDir) {
        return new AgentSettings(stateDir, DEFAULT_LISTEN, Duration.ofMinutes(5), Duration.ofSeconds(10), "", false, 500);
    }

    public AgentSettings withSettleTime(Duration settle) {
        return new AgentSettings(stateDir, listen, reconcileInterval, settle, registryUrl, cluster, metricsMaxRuns,
                policyChangeGrace, leaseTime, leaseRenewal);
    }

    public AgentSettings withPolicyChangeGrace(Duration grace) {
        return new AgentSettings(stateDir, listen, reconcileInterval, settleTime, registryUrl, cluster, metricsMaxRuns,
                grace, leaseTime, leaseRenewal);
    }
}
