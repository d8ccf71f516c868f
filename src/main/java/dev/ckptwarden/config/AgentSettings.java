package dev.ckptwarden.config;

import java.nio.file.Path;
import java.time.Duration;

/** The {@code agent:} section. */
public record AgentSettings(
        Path stateDir,
        String listen,
        Duration reconcileInterval,
        Duration settleTime,
        String registryUrl,
        boolean cluster,
        int metricsMaxRuns) {

    public static final String DEFAULT_LISTEN = "127.0.0.1:9847";

    public static AgentSettings defaults(Path stateDir) {
        return new AgentSettings(stateDir, DEFAULT_LISTEN, Duration.ofMinutes(5), Duration.ofSeconds(10), "", false, 500);
    }

    public AgentSettings withSettleTime(Duration settle) {
        return new AgentSettings(stateDir, listen, reconcileInterval, settle, registryUrl, cluster, metricsMaxRuns);
    }
}
