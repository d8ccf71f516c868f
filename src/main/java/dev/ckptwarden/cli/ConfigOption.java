package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigException;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SqliteRegistry;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

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
        String url = config.agent().registryUrl();
        if (url == null || url.isBlank()) {
            return SqliteRegistry.open(config.agent().stateDir());
        }
        if (url.startsWith("jdbc:postgresql:")) {
            return PostgresRegistry.open(url);
        }
        throw new CliError(ExitCode.USAGE, "agent.registry_url: expected \"\" (embedded database in state_dir) or "
                + "jdbc:postgresql://host/database, got '" + url + "'");
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
