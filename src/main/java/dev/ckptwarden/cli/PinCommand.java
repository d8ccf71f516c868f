package dev.ckptwarden.cli;

import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.registry.Registry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code pin PATH [--reason TEXT]}: protect a checkpoint from every rule; exit 1 when it is not registered. */
@Command(name = "pin", description = "Protect a checkpoint from every retention rule and from pressure eviction.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden pin /data/checkpoints/exp1/epoch=9-step=5000.ckpt --reason \"paper results\""})
final class PinCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(index = "0", paramLabel = "PATH", description = "the checkpoint's path")
    Path path;

    @Option(names = "--reason", paramLabel = "TEXT", description = "why it is pinned (shown by ls and inspect)")
    String reason;

    @Override
    public Integer call() {
        return setPin(config.load(), path, true, reason);
    }

    static int setPin(Config cfg, Path path, boolean pinned, String reason) {
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            for (String key : registryKeys(path)) {
                if (registry.byPath(key).isPresent()) {
                    registry.pin(key, pinned, reason);
                    System.out.println((pinned ? "pinned " : "unpinned ") + TerminalText.escape(key));
                    return ExitCode.OK;
                }
            }
        }
        System.err.println("ckpt-warden: " + TerminalText.escape(path) + ": not a registered checkpoint (run 'ckpt-warden scan' first?)");
        return ExitCode.NOT_FOUND;
    }

    /**
     * The registry keys a path given on the command line may stand for: as written (made absolute),
     * with links in its directories resolved (the registry records roots by their real path), and
     * fully resolved. A checkpoint that is itself a link is registered under the link's own name. A
     * remote checkpoint's URI stands for itself.
     */
    static Set<String> registryKeys(Path given) {
        if (RemoteLocation.isRemote(given)) {
            // A URI of a remote root's checkpoint (sftp://..., s3://...) is its own key; nothing local to resolve.
            return Set.of(given.normalize().toString());
        }
        Set<String> keys = new LinkedHashSet<>();
        Path abs = given.toAbsolutePath().normalize();
        keys.add(abs.toString());
        try {
            Path parent = abs.getParent();
            if (parent != null && abs.getFileName() != null && Files.exists(parent)) {
                keys.add(parent.toRealPath().resolve(abs.getFileName()).toString());
            }
            if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                keys.add(abs.toRealPath().toString());
            }
        } catch (IOException unreadable) {
            // the forms found so far are all there is
        }
        return keys;
    }
}
