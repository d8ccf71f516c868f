package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;

import java.util.List;
import java.util.stream.Collectors;

/** The roots a command works on: all of the configuration's, or the one {@code --root} names. */
final class RootSelection {
    private RootSelection() {
    }

    static List<RootConfig> of(Config cfg, String name) {
        if (name == null) {
            return cfg.roots();
        }
        RootConfig r = cfg.root(name);
        if (r == null) {
            throw new CliError(ExitCode.USAGE, "no root named '" + name + "' in "
                    + (cfg.source() == null ? "the configuration" : cfg.source().toString()) + " (roots: "
                    + cfg.roots().stream().map(RootConfig::name).collect(Collectors.joining(", ")) + ")");
        }
        return List.of(r);
    }
}
