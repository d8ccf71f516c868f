package dev.ckptwarden.cli;

import dev.ckptwarden.config.ByteSize;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.enforce.TrashStaging;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.offload.RestoreException;
import dev.ckptwarden.offload.Restorer;
import dev.ckptwarden.registry.Registry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;

/**
 * {@code restore PATH}: brings an offloaded checkpoint back into its run directory, verified against
 * the checksum recorded when it was offloaded, and registers it again. Exit 1 when PATH is not an
 * offloaded checkpoint, 3 when the restore failed (nothing was placed).
 */
@Command(name = "restore", description = "Bring an offloaded checkpoint back into its run directory, verified.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden restore /data/checkpoints/exp1/epoch=3-step=2000.ckpt"})
public final class RestoreCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(index = "0", paramLabel = "PATH", description = "the offloaded checkpoint's path")
    Path path;

    @Option(names = "--json", description = "machine output: the restored checkpoint")
    boolean json;

    @Override
    public Integer call() {
        Config cfg = config.load();
        try (Registry registry = ConfigOption.openRegistry(cfg);
             RemoteFiles remote = RemoteFiles.open(RemoteSettings.fromEnvironment())) {
            String key = PinCommand.registryKeys(cfg, path).stream().filter(k -> registry.byPath(k).isPresent()).findFirst()
                    .orElse(null);
            if (key == null) {
                System.err.println("ckpt-warden: " + TerminalText.escape(path) + ": not a registered checkpoint");
                return ExitCode.NOT_FOUND;
            }
            Restorer.Restored r = new Restorer(registry, remote, Clock.systemUTC(), TrashStaging::open).restore(cfg, key);
            if (json) {
                ObjectNode n = CheckpointJson.of(r.checkpoint());
                n.put("restored_from", r.uri());
                n.put("sha256", r.sha256());
                System.out.println(CheckpointJson.write(n));
            } else {
                System.out.println(TerminalText.escape("restored " + key + " from " + r.uri() + " (" + ByteSize.format(r.bytes())
                        + ", sha256 " + r.sha256() + "); state " + r.checkpoint().state().id()));
            }
            return ExitCode.OK;
        } catch (RestoreException e) {
            System.err.println("ckpt-warden: " + TerminalText.escape(e.getMessage()));
            return e.nothingToRestore() ? ExitCode.NOT_FOUND : ExitCode.RUNTIME;
        } catch (IOException e) {
            throw new CliError(ExitCode.RUNTIME, "remote file access: " + e.getMessage());
        }
    }
}
