package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code export-registry [--out FILE]}: the registry as registry.json (stdout by default). */
@Command(name = "export-registry", description = "Write the registry as registry.json (to stdout unless --out).",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden export-registry --out /backup/registry.json"})
final class ExportRegistryCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--out", paramLabel = "FILE", description = "write to this file (atomically) instead of stdout")
    Path out;

    @Override
    public Integer call() {
        Config cfg = config.load();
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            RegistryExport export = new RegistryExport(registry);
            if (out == null) {
                export.writeTo(System.out);
            } else {
                export.writeTo(out);
            }
        } catch (IOException e) {
            throw new CliError(ExitCode.RUNTIME, e.getMessage());
        }
        return ExitCode.OK;
    }
}
