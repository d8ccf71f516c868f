package dev.ckptwarden.cli;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;
import dev.ckptwarden.watch.ScanProblem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code scan}: one reconcile pass over all roots; prints what was found. */
@Command(name = "scan", description = "One reconcile pass over all roots; prints what was found.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden scan --config conf/ckpt-warden.yaml",
                "  ckpt-warden scan --json | jq '.checkpoints[].path'"})
final class ScanCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--json", description = "machine output")
    boolean json;

    @Option(names = "--stats", description = "print per-root scan statistics (entries, inspected, time) to stderr")
    boolean stats;

    @Override
    public Integer call() {
        Config cfg = config.load();
        List<Registered> all = new ArrayList<>();
        List<ScanProblem> problems = new ArrayList<>();
        boolean anyUnreachable = false;
        try (Registry registry = ConfigOption.openRegistry(cfg);
             Reconciler reconciler = new Reconciler(registry, Clock.systemUTC())) {
            for (RootScan scan : reconciler.reconcileAll(cfg)) {
                List<Registered> found = scan.checkpoints(); // read from the registry at each call: once
                all.addAll(found);
                problems.addAll(scan.problems());
                anyUnreachable |= !scan.reachable();
                if (stats) {
                    System.err.printf(java.util.Locale.ROOT, "scan %s: %d checkpoints, %d entries, %d inspected, %d gone, %.1f ms%n",
                            TerminalText.escape(scan.root()), found.size(), scan.entries(), scan.inspected(), scan.gone(),
                            scan.took().toNanos() / 1e6);
                }
            }
        }
        all.sort(LsCommand.ORDER);
        for (ScanProblem p : problems) {
            System.err.println(TerminalText.escape("ckpt-warden: " + p.root() + ": " + p));
        }
        if (json) {
            System.out.println(CheckpointJson.write(CheckpointJson.list(all)));
        } else {
            LsCommand.table(all, false).print(System.out);
        }
        return anyUnreachable ? ExitCode.RUNTIME : ExitCode.OK;
    }
}
