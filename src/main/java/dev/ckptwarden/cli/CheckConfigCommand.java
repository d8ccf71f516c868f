package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigError;
import dev.ckptwarden.config.ConfigException;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.config.RootConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code check-config [FILE]}: validate a configuration and explain every error (file, line, key). */
@Command(name = "check-config", description = "Validate a configuration file and explain every error.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden check-config /etc/ckpt-warden/ckpt-warden.yaml"})
final class CheckConfigCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE", description = "the file to check (default: what --config finds)")
    Path file;

    @Override
    public Integer call() {
        Path p = file != null ? file : config.resolve();
        if (!Files.isReadable(p)) {
            System.err.println("ckpt-warden: " + TerminalText.escape(p) + ": cannot read configuration file");
            return ExitCode.USAGE;
        }
        try {
            Config cfg = ConfigLoader.load(p);
            System.out.println(TerminalText.escape(p + ": OK (" + cfg.roots().size() + " root(s), state_dir " + cfg.agent().stateDir() + ")"));
            for (RootConfig r : cfg.roots()) {
                System.out.println(TerminalText.escape("  " + r.name() + ": " + r.path() + " layout=" + r.layout().id()
                        + (r.retention() == null ? " watch-only" : " action=" + r.action().id())));
            }
            return ExitCode.OK;
        } catch (ConfigException e) {
            for (ConfigError err : e.errors()) {
                System.err.println(TerminalText.escape(err));
            }
            System.err.println(p + ": " + e.errors().size() + " error(s)");
            return ExitCode.USAGE;
        }
    }
}
