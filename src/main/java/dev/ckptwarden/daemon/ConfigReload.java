package dev.ckptwarden.daemon;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigException;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.watch.DirectoryWatcher;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads and fully validates the configuration file, and applies what can change at runtime: roots
 * watched or no longer watched, the periodic pass's interval. An invalid edit is rejected with every
 * error (file, line, key), the previous configuration stays in force, and the reload metric goes to 0.
 */
final class ConfigReload {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private final Path configFile;
    private final Map<String, String> env;
    private final AtomicReference<Config> config;
    private final AgentMetrics metrics;
    private final DirectoryWatcher watcher;
    private final PassSchedule schedule;
    private volatile boolean lastSuccessful = true;

    ConfigReload(Path configFile, Map<String, String> env, AtomicReference<Config> config, AgentMetrics metrics,
                 DirectoryWatcher watcher, PassSchedule schedule) {
        this.configFile = configFile;
        this.env = env;
        this.config = config;
        this.metrics = metrics;
        this.watcher = watcher;
        this.schedule = schedule;
    }

    /** @return true when the new configuration is now in force */
    boolean reload(ReloadReason why) {
        Config next = null;
        try {
            next = ConfigLoader.load(configFile, env);
        } catch (ConfigException e) {
            log.error("configuration reload ({}) rejected; the previous configuration stays in force:\n{}", why,
                    e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            // The stack unwinds to here; nothing of the new file was applied.
            log.error("configuration reload ({}) failed; the previous configuration stays in force: {}", why, e.toString());
        } finally {
            // Every way a reload can end without a new configuration counts as a failure, Errors included.
            if (next == null) {
                lastSuccessful = false;
                metrics.setConfigReloadSuccessful(false);
            }
        }
        if (next == null) {
            return false;
        }
        Config prev = config.getAndSet(next);
        lastSuccessful = true;
        metrics.setConfigReloadSuccessful(true);
        for (RootConfig p : prev.roots()) {
            RootConfig n = next.root(p.name());
            if (n == null || !n.path().equals(p.path())) {
                watcher.unwatchRoot(p.name());
                log.info("root {} no longer configured; stopped watching it", p.name());
            }
        }
        for (RootConfig r : next.roots()) {
            RootConfig p = prev.root(r.name());
            if (r.isLocal() && (p == null || !p.path().equals(r.path()))) {
                try {
                    r.localPath().toRealPath(); // there? (watched as configured, as scan reports)
                    int n = watcher.watchRoot(r.name(), r.localPath());
                    log.info("root {} added; watching {} directories", r.name(), n);
                } catch (IOException e) {
                    log.warn("root {} added but cannot be watched ({}); the periodic reconcile covers it", r.name(),
                            e.getMessage());
                }
            }
        }
        if (!prev.agent().reconcileInterval().equals(next.agent().reconcileInterval())) {
            schedule.every(next.agent().reconcileInterval());
        }
        if (!Objects.equals(prev.agent().stateDir(), next.agent().stateDir())
                || !Objects.equals(prev.agent().listen(), next.agent().listen())
                || !Objects.equals(prev.agent().registryUrl(), next.agent().registryUrl())) {
            log.warn("agent.state_dir, agent.listen and agent.registry_url take effect after a restart");
        }
        log.info("configuration reloaded ({}): {} root(s)", why, next.roots().size());
        return true;
    }

    /** False after a rejected reload, until the next valid one. */
    boolean lastSuccessful() {
        return lastSuccessful;
    }
}
