package dev.ckptwarden.cli;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.Resolver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code resolve --run RUN SELECTOR}: print the one path to resume from; exit 1 if none. */
@Command(name = "resolve", description = "Print the one checkpoint path for latest, best, step:N (step_N) or epoch:N; exit 1 if none.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden resolve --run exp1 latest --resumable",
                "  ckpt-warden resolve --run exp1 best --metric val_acc --mode max",
                "  ckpt-warden resolve --run exp1 step:5000 --json"})
final class ResolveCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--run", required = true, paramLabel = "RUN", description = "run id (path of the run directory relative to its root)")
    String run;

    @Option(names = "--root", paramLabel = "ROOT", description = "root name, when several roots have the same run id")
    String root;

    @Parameters(index = "0", paramLabel = "SELECTOR", description = "latest | best | step:N | step_N | epoch:N")
    String selector;

    @Option(names = "--resumable", description = "only checkpoints that carry optimizer state")
    boolean resumable;

    @Option(names = "--metric", paramLabel = "NAME", description = "metric for 'best' (default: the run's keep_best metric, else the best the framework"
            + " recorded, else the run's only metric)")
    String metric;

    @Option(names = "--mode", paramLabel = "min|max", description = "for --metric: lower (min, default) or higher (max) is better")
    String mode = "min";

    @Option(names = "--json", description = "print the checkpoint as JSON")
    boolean json;

    @Option(names = "--include-offloaded", description = "also consider offloaded checkpoints; prints the remote URI for one")
    boolean includeOffloaded;

    @Override
    public Integer call() {
        Config cfg = config.load();
        List<Checkpoint> candidates;
        String remoteUri = null;
        Optional<Checkpoint> found = Optional.empty();
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            candidates = registry.list(root, run, includeOffloaded);
            if (includeOffloaded) {
                candidates = candidates.stream().filter(c -> c.state() != dev.ckptwarden.catalog.CheckpointState.DELETED).toList();
            }
            if (!candidates.isEmpty()) {
                found = pick(cfg, candidates);
                if (found.isPresent() && found.get().state() == dev.ckptwarden.catalog.CheckpointState.OFFLOADED) {
                    remoteUri = remoteUri(registry, found.get());
                }
            }
        }
        if (candidates.isEmpty()) {
            // A mistyped selector is bad usage (2) even for a run with nothing registered, not "nothing found" (1).
            // Only its form is checked here, so any metric will do for 'best'.
            try {
                Resolver.resolve(List.of(), selector, resumable, new Resolver.Metric("", true));
            } catch (Resolver.BadSelector e) {
                throw new CliError(ExitCode.USAGE, e.getMessage());
            }
            System.err.println("ckpt-warden: no checkpoints registered for run '" + run + "'");
            return ExitCode.NOT_FOUND;
        }
        if (found.isEmpty()) {
            System.err.println("ckpt-warden: no complete" + (resumable ? " resumable" : "") + " checkpoint matches '"
                    + selector + "' in run '" + run + "'");
            return ExitCode.NOT_FOUND;
        }
        if (json) {
            com.fasterxml.jackson.databind.node.ObjectNode n = CheckpointJson.of(found.get());
            if (remoteUri != null) {
                n.put("remote_uri", remoteUri);
            }
            System.out.println(CheckpointJson.write(n));
        } else {
            // Escaped like all human output: a path with a newline cannot be read line-wise anyway; --json is exact.
            System.out.println(TerminalText.escape(remoteUri != null ? remoteUri : found.get().location()));
        }
        return ExitCode.OK;
    }

    private Optional<Checkpoint> pick(Config cfg, List<Checkpoint> candidates) {
        String rootName = candidates.get(0).root();
        if (candidates.stream().anyMatch(c -> !c.root().equals(rootName))) {
            throw new CliError(ExitCode.USAGE, "run '" + run + "' exists in several roots; pass --root");
        }
        try {
            return Resolver.resolve(candidates, selector, resumable, metricFor(cfg.root(rootName)), includeOffloaded);
        } catch (Resolver.BadSelector e) {
            throw new CliError(ExitCode.USAGE, e.getMessage());
        } catch (Resolver.NoBest e) {
            throw new CliError(ExitCode.NOT_FOUND, "run '" + run + "': " + e.getMessage());
        }
    }

    /** The remote copy recorded when the checkpoint was offloaded (the last verified offload). */
    private static String remoteUri(Registry registry, Checkpoint c) {
        String uri = null;
        for (dev.ckptwarden.registry.HistoryEvent e : registry.history(c.key())) {
            if (dev.ckptwarden.offload.OffloadReceipt.EVENT.equals(e.event())) {
                uri = dev.ckptwarden.offload.OffloadReceipt.parse(e.detail()).uri();
            }
        }
        if (uri == null) {
            throw new CliError(ExitCode.RUNTIME, c.path() + " is offloaded but its history has no verified remote copy");
        }
        return uri;
    }

    /** --metric/--mode, else the run's effective keep_best (overrides applied, as plan and the API use), else null: inferred. */
    private Resolver.Metric metricFor(RootConfig root) {
        if (metric != null) {
            if (!mode.equals("min") && !mode.equals("max")) {
                throw new CliError(ExitCode.USAGE, "--mode must be min or max, not '" + mode + "'");
            }
            return new Resolver.Metric(metric, mode.equals("min"));
        }
        return Resolver.Metric.of(dev.ckptwarden.policy.RetentionPolicy.keepBest(root, run));
    }
}
