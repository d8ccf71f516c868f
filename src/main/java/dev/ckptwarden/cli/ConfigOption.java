package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigException;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.registry.JournaledRegistry;
import dev.ckptwarden.config.RegistryUrl;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SqliteRegistry;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Clock;

/**
 * {@code --config FILE}: default {@code conf/ckpt-warden.yaml} relative to the working directory,
 * then {@code /etc/ckpt-warden/ckpt-warden.yaml}.
 */
final class ConfigOption {
    static final Path LOCAL_DEFAULT = Paths.get("conf", "ckpt-warden.yaml");
    static final Path SYSTEM_DEFAULT = Paths.get("/etc/ckpt-warden/ckpt-warden.yaml");

    @Option(names = "--config", paramLabel = "FILE", description = "configuration file (default: conf/ckpt-warden.yaml, then /etc/ckpt-warden/ckpt-warden.yaml)")
    Path file;

    Path resolve() {
        if (file != null) {
            return file;
        }
        if (Files.exists(LOCAL_DEFAULT)) {
            return LOCAL_DEFAULT;
        }
        if (Files.exists(SYSTEM_DEFAULT)) {
            return SYSTEM_DEFAULT;
        }
        throw new CliError(ExitCode.USAGE, "no configuration found: neither " + LOCAL_DEFAULT + " nor " + SYSTEM_DEFAULT
                + " exists; pass --config FILE");
    }

    Config load() {
        Path p = resolve();
        if (!Files.isReadable(p)) {
            throw new CliError(ExitCode.USAGE, p + ": cannot read configuration file");
        }
        try {
            return ConfigLoader.load(p);
        } catch (ConfigException e) {
            throw new CliError(ExitCode.USAGE, e.getMessage());
        }
    }

    /**
     * The registry {@code agent.registry_url} names: empty for the embedded SQLite database in
     * {@code state_dir}, {@code jdbc:postgresql://...} for the shared one. Anything else is refused, never
     * silently replaced by the embedded database (agents would then each keep their own registry).
     */
    static Registry openRegistry(Config config) {
        return openRegistry(config, false);
    }

    /**
     * As {@link #openRegistry(Config)}; the registry's pins are also journaled in {@code state_dir}
     * (see {@link JournaledRegistry}), whichever database holds them.
     *
     * @param startFresh the user said to start fresh after the registry was lost ({@code --fresh-registry})
     */
    static Registry openRegistry(Config config, boolean startFresh) {
        return JournaledRegistry.open(openDatabase(config), config.agent().stateDir(), Clock.systemUTC(), startFresh);
    }

    /** The shared PostgreSQL registry behind {@code registry} (cluster mode's lease lives there), or null. */
    static PostgresRegistry shared(Registry registry) {
        Registry db = registry instanceof JournaledRegistry journaled ? journaled.delegate() : registry;
        return db instanceof PostgresRegistry shared ? shared : null;
    }

    private static Registry openDatabase(Config config) {
        String url = config.agent().registryUrl();
        String problem = RegistryUrl.problem(url);
        if (problem != null) {
            throw new CliError(ExitCode.USAGE, "agent.registry_url: " + problem);
        }
        if (url == null || url.isBlank()) {
            return SqliteRegistry.open(config.agent().stateDir());
        }
        return PostgresRegistry.open(url);
    }

    /**
     * The evictions the running agent delays after a configuration change ({@code agent.policy_change_grace}),
     * as it recorded them in {@code state_dir}; an unreadable record is reported on stderr and ignored.
     */
    static dev.ckptwarden.policy.PolicyChange policyChange(Config config) {
        java.time.ZoneId zone = java.time.ZoneId.systemDefault();
        try {
            return dev.ckptwarden.enforce.PolicyChangeFile.read(config.agent().stateDir(), zone);
        } catch (java.io.IOException e) {
            System.err.println("ckpt-warden: ignoring the agent's policy change record: " + e.getMessage());
            return new dev.ckptwarden.policy.PolicyChange(java.util.Map.of(), zone);
        }
    }

    /** Refuses (exit 3, one line) a state_dir that someone other than the agent's user could write. */
    static void checkStateDir(Config config) {
        try {
            dev.ckptwarden.enforce.StateDirectory.check(config.agent().stateDir());
        } catch (java.io.IOException e) {
            throw new CliError(ExitCode.RUNTIME, e.getMessage());
        }
    }

    /** Takes the state_dir's agent lock for this process; another holder is a one-line error (exit 3) naming it. */
    static dev.ckptwarden.daemon.AgentLock lockStateDir(Config config, String command) {
        try {
            return dev.ckptwarden.daemon.AgentLock.acquire(config.agent().stateDir(), command);
        } catch (java.io.IOException e) {
            throw new CliError(ExitCode.RUNTIME, e.getMessage());
        }
    }
}
