package dev.ckptwarden.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code unpin PATH}: let retention judge a pinned checkpoint again; exit 1 when it is not registered, gone or not pinned. */
@Command(name = "unpin", description = "Remove a checkpoint's pin; retention judges it again.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden unpin /data/checkpoints/exp1/epoch=9-step=5000.ckpt"})
final class UnpinCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(index = "0", paramLabel = "PATH", description = "the checkpoint's path")
    Path path;

    @Override
    public Integer call() {
        return PinCommand.setPin(config.load(), path, false, null);
    }
}
