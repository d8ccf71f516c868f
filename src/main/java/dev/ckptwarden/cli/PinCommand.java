package dev.ckptwarden.cli;

import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
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
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code pin PATH [--reason TEXT]}: protect a checkpoint from every rule; exit 1 when it is not registered or gone. */
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

    /**
     * Pins or unpins the checkpoint at {@code path}. Exit 1 with the reason, changing nothing, when no
     * checkpoint is registered there, when it is deleted or offloaded, or (for unpin) when it is not
     * pinned: a script that pins must learn that its checkpoint is not protected.
     */
    static int setPin(Config cfg, Path path, boolean pinned, String reason) {
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            for (String key : registryKeys(cfg, path)) {
                Optional<Registered> found = registry.byPath(key);
                if (found.isEmpty()) {
                    continue;
                }
                Registered c = found.get();
                if (GoneFromDisk.lookAgain(cfg, registry, List.of(c))) {
                    // Removed by hand since the registry saw it: pinning it would protect nothing.
                    c = registry.byPath(key).orElse(c);
                }
                if (!c.state().present()) {
                    return refuse(path, "checkpoint is " + c.state().id() + " (" + key + ")");
                }
                if (!pinned && !c.pinned()) {
                    return refuse(path, "not pinned");
                }
                if (!registry.pin(key, pinned, reason)) {
                    break;
                }
                System.out.println((pinned ? "pinned " : "unpinned ") + TerminalText.escape(key));
                return ExitCode.OK;
            }
        }
        return refuse(path, "not a registered checkpoint (run 'ckpt-warden scan' first?)");
    }

    private static int refuse(Path path, String why) {
        System.err.println("ckpt-warden: " + TerminalText.escape(path) + ": " + why);
        return ExitCode.NOT_FOUND;
    }

    /**
     * The registry keys a path given on the command line may stand for: as written (made absolute),
     * with links in its directories resolved, fully resolved, and each of those spelled under a
     * configured root as the configuration spells it (the registry records checkpoints under the root
     * as configured: {@code /data/run/x.ckpt} when {@code /data} links to {@code /mnt/nvme0/data} and
     * the user typed the latter). A checkpoint that is itself a link is registered under the link's own
     * name. A remote checkpoint's URI stands for itself.
     */
    static Set<String> registryKeys(Config cfg, Path given) {
        if (RemoteLocation.isRemote(given)) {
            // A URI of a remote root's checkpoint (sftp://..., s3://...) is its own key; nothing local to resolve.
            return Set.of(given.normalize().toString());
        }
        Set<Path> forms = new LinkedHashSet<>();
        Path abs = given.toAbsolutePath().normalize();
        forms.add(abs);
        try {
            Path parent = abs.getParent();
            if (parent != null && abs.getFileName() != null && Files.exists(parent)) {
                forms.add(parent.toRealPath().resolve(abs.getFileName()));
            }
            if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                forms.add(abs.toRealPath());
            }
        } catch (IOException unreadable) {
            // the forms found so far are all there is
        }
        Set<String> keys = new LinkedHashSet<>();
        forms.forEach(f -> keys.add(f.toString()));
        for (RootConfig r : cfg.roots()) {
            if (!r.isLocal()) {
                continue;
            }
            Path configured = r.localPath();
            Path real;
            try {
                real = configured.toRealPath();
            } catch (IOException unreachable) {
                continue;
            }
            for (Path f : forms) {
                if (f.startsWith(real) && !real.equals(configured)) {
                    keys.add(configured.resolve(real.relativize(f)).toString());
                }
            }
        }
        return keys;
    }
}
