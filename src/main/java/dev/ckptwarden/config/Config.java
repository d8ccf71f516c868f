package dev.ckptwarden.config;

import java.nio.file.Path;
import java.util.List;

/**
 * A validated configuration snapshot. Immutable: a reload produces a new instance, and every sweep
 * reads the snapshot current at its start.
 *
 * @param source the file it was read from (null for a configuration built in code)
 */
public record Config(Path source, AgentSettings agent, List<RootConfig> roots) {
    public Config {
        roots = List.copyOf(roots);
    }

    /** The root with this name, or null. */
    public RootConfig root(String name) {
        for (RootConfig r : roots) {
            if (r.name().equals(name)) {
                return r;
            }
        }
        return null;
    }
}
