package dev.ckptwarden.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** Reads {@code agent:} and applies the per-host environment overrides on top of it. */
final class AgentSectionReader {

    static final String ENV_LISTEN = "CKPT_WARDEN_LISTEN";
    static final String ENV_STATE_DIR = "CKPT_WARDEN_STATE_DIR";
    static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/ckpt-warden");

    private static final String[] KEYS = {
        "state_dir", "listen", "reconcile_interval", "settle_time", "registry_url", "cluster", "metrics_max_runs",
        "policy_change_grace", "lease_time", "lease_renewal"
    };
    /** Below this a lease would be lost to one slow database round trip (queries may take seconds). */
    static final Duration MIN_LEASE_TIME = Duration.ofSeconds(2);

    private AgentSectionReader() {
    }

    /**
     * @param node the value of {@code agent:}, or null when the key is absent (all defaults)
     */
    static AgentSettings read(YamlNode node, ConfigErrors errors, Map<String, String> env) {
        AgentSettings defaults = AgentSettings.defaults(DEFAULT_STATE_DIR);
        MappingReader agent = null;
        // "agent:" with nothing after it means the same as leaving it out
        if (node != null && !(node instanceof YamlNode.Scalar s && s.isNull() && !s.alias())) {
            agent = MappingReader.of(node, "agent", errors, "a mapping of agent settings", KEYS);
        }
        Path stateDir = defaults.stateDir();
        String listen = defaults.listen();
        Duration reconcile = defaults.reconcileInterval();
        Duration settle = defaults.settleTime();
        String registryUrl = defaults.registryUrl();
        boolean cluster = defaults.cluster();
        int metricsMaxRuns = defaults.metricsMaxRuns();
        Duration grace = defaults.policyChangeGrace();
        Duration leaseTime = defaults.leaseTime();
        Duration leaseRenewal = defaults.leaseRenewal();

        if (agent != null) {
            String dir = agent.text("state_dir", "a directory path");
            if (dir != null) {
                try {
                    stateDir = stateDir(dir);
                } catch (IllegalArgumentException e) {
                    agent.error("state_dir", e.getMessage());
                }
            }
            String address = agent.text("listen", "host:port like 127.0.0.1:9847");
            if (address != null) {
                try {
                    ListenAddress.parse(address);
                    listen = address.strip();
                } catch (IllegalArgumentException e) {
                    agent.error("listen", e.getMessage());
                }
            }
            reconcile = orElse(agent.duration("reconcile_interval", false), reconcile);
            settle = orElse(agent.duration("settle_time", true), settle);
            boolean registryValid = true;
            String url = agent.textOrEmpty("registry_url", "\"\" or a jdbc:postgresql:// URL");
            if (url != null) {
                url = url.strip();
                String problem = RegistryUrl.problem(url);
                if (problem == null) {
                    registryUrl = url;
                } else {
                    registryValid = false;
                    agent.error("registry_url", problem);
                }
            } else if (agent.has("registry_url")) {
                registryValid = false;
            }
            cluster = orElse(agent.bool("cluster"), cluster);
            if (cluster && registryValid && registryUrl.isEmpty()) {
                agent.error("cluster", "cluster: true needs a registry shared by every agent: set agent.registry_url "
                        + "to jdbc:postgresql://...");
            }
            Integer maxRuns = agent.wholeInt("metrics_max_runs", 1);
            metricsMaxRuns = maxRuns == null ? metricsMaxRuns : maxRuns;
            grace = orElse(agent.duration("policy_change_grace", true), grace);
            // Checked with or without cluster: true (and unused without it), so that one file serves both.
            Duration time = agent.duration("lease_time", false);
            if (time != null && time.compareTo(MIN_LEASE_TIME) < 0) {
                agent.error("lease_time", "must be at least " + DurationText.format(MIN_LEASE_TIME) + ", got "
                        + DurationText.format(time));
            } else if (time != null) {
                leaseTime = time;
            }
            leaseRenewal = orElse(agent.duration("lease_renewal", false), leaseRenewal);
            if (leaseRenewal.compareTo(leaseTime.dividedBy(2)) > 0 && (time == null || leaseTime == time)) {
                if (agent.has("lease_renewal")) {
                    agent.error("lease_renewal", "must be at most half of agent.lease_time ("
                            + DurationText.format(leaseTime) + "), so that one failed renewal does not lose the lease;"
                            + " got " + DurationText.format(leaseRenewal));
                } else {
                    agent.error("lease_time", "must be at least twice agent.lease_renewal ("
                            + DurationText.format(leaseRenewal) + ", the default): set a shorter lease_renewal too; got "
                            + DurationText.format(leaseTime));
                }
            }
        }

        String envListen = env.get(ENV_LISTEN);
        if (envListen != null && !envListen.isBlank()) {
            try {
                ListenAddress.parse(envListen);
                listen = envListen.strip();
            } catch (IllegalArgumentException e) {
                errors.environment(ENV_LISTEN, "(overrides agent.listen) " + e.getMessage());
            }
        }
        String envStateDir = env.get(ENV_STATE_DIR);
        if (envStateDir != null && !envStateDir.isBlank()) {
            try {
                stateDir = stateDir(envStateDir);
            } catch (IllegalArgumentException e) {
                errors.environment(ENV_STATE_DIR, "(overrides agent.state_dir) " + e.getMessage());
            }
        }
        return new AgentSettings(stateDir, listen, reconcile, settle, registryUrl, cluster, metricsMaxRuns, grace, leaseTime,
                leaseRenewal);
    }

    /** Relative directories are resolved against the working directory (systemd's WorkingDirectory=). */
    static Path stateDir(String text) {
        String t = text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("must not be empty");
        }
        if (t.contains("://")) {
            throw new IllegalArgumentException("must be a local directory, got '" + text + "'");
        }
        if (t.startsWith("~")) {
            throw new IllegalArgumentException("'~' is not expanded, write the full path instead of '" + text + "'");
        }
        try {
            return Path.of(t).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid path: '" + text + "' (" + e.getReason() + ")");
        }
    }

    private static <T> T orElse(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
