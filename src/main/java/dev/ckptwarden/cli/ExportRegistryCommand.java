package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;

/** {@code export-registry [--out FILE]}: the registry as registry.json (stdout by default). */
@Command(name = "export-registry", description = "Write the registry as registry.json (to stdout unless --out).")
final class ExportRegistryCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--out", paramLabel = "FILE", description = "write to this file (atomically) instead of stdout")
    Path out;

    @Override
    public Integer call() throws IOException {
        Config cfg = config.load();
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            if (out == null) {
                PrintStream ps = System.out;
                RegistryExport.write(registry, ps);
                ps.println();
                return ExitCode.OK;
            }
            Path abs = out.toAbsolutePath();
            Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
            try (OutputStream os = Files.newOutputStream(tmp)) {
                RegistryExport.write(registry, os);
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return ExitCode.OK;
    }
}
