package dev.ckptwarden.cli;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.export.DiskResolver;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.Resolver;
import dev.ckptwarden.watch.Reconciler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Clock;
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
        Resolver.Metric best = metric();
        DiskResolver.Answer answer;
        String remoteUri = null;
        try {
            try (Registry registry = openOrScratch(cfg);
                 Reconciler reconciler = new Reconciler(registry, Clock.systemUTC())) {
                try {
                    answer = new DiskResolver(registry, reconciler)
                            .resolve(cfg, root, run, selector, resumable, best, includeOffloaded);
                } catch (Resolver.BadSelector | DiskResolver.SeveralRoots e) {
                    throw new CliError(ExitCode.USAGE, e.getMessage());
                } catch (Resolver.NoBest e) {
                    throw new CliError(ExitCode.NOT_FOUND, "run '" + run + "': " + e.getMessage());
                }
                if (answer.found() && answer.checkpoint().state() == CheckpointState.OFFLOADED) {
                    remoteUri = remoteUri(registry, answer.checkpoint());
                }
            }
        } finally {
            removeScratch();
        }
        if (!answer.runHasCheckpoints()) {
            System.err.println("ckpt-warden: no checkpoints registered or found on disk for run '" + run + "'"
                    + (root != null ? " in root '" + root + "'" : ""));
            return ExitCode.NOT_FOUND;
        }
        if (!answer.found()) {
            System.err.println("ckpt-warden: no complete" + (resumable ? " resumable" : "") + " checkpoint matches '"
                    + selector + "' in run '" + run + "'");
            return ExitCode.NOT_FOUND;
        }
        Registered found = answer.checkpoint();
        if (json) {
            com.fasterxml.jackson.databind.node.ObjectNode n = CheckpointJson.of(found);
            if (remoteUri != null) {
                n.put("remote_uri", remoteUri);
            }
            System.out.println(CheckpointJson.write(n));
        } else {
            // Escaped like all human output: a path with a newline cannot be read line-wise anyway; --json is exact.
            System.out.println(TerminalText.escape(remoteUri != null ? remoteUri : found.location()));
        }
        return ExitCode.OK;
    }

    /** The temporary registry of an answer from disk, removed when the command ends. */
    private java.nio.file.Path scratch;

    /**
     * The registry, or, while it cannot be reached (a database outage), a throw-away one in a temporary
     * directory: a training job that wants to resume still gets an answer, judged from the run directory
     * as a scan judges it (settled, framework signal, format check), and nothing is written to the real
     * registry. Said on stderr.
     */
    private Registry openOrScratch(Config cfg) {
        try {
            return ConfigOption.openRegistry(cfg);
        } catch (dev.ckptwarden.registry.RegistryException unreachable) {
            System.err.println("ckpt-warden: registry unreachable (" + TerminalText.escape(unreachable.getMessage())
                    + "); answering from the run directory on disk, registering nothing");
            try {
                scratch = java.nio.file.Files.createTempDirectory("ckpt-warden-resolve-");
                return dev.ckptwarden.registry.SqliteRegistry.open(scratch);
            } catch (java.io.IOException | RuntimeException e) {
                throw new CliError(ExitCode.RUNTIME, "registry unreachable and no temporary registry either: " + e.getMessage());
            }
        }
    }

    private void removeScratch() {
        if (scratch == null) {
            return;
        }
        try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.walk(scratch)) {
            for (java.nio.file.Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(p);
            }
        } catch (java.io.IOException e) {
            System.err.println("ckpt-warden: could not remove " + scratch + ": " + e.getMessage());
        }
    }

    /** The remote copy recorded when the checkpoint was offloaded (the last verified offload). */
    private static String remoteUri(Registry registry, Registered c) {
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

    /** --metric/--mode, or null for the run's effective keep_best (overrides applied, as plan and the API use). */
    private Resolver.Metric metric() {
        if (metric == null) {
            return null;
        }
        if (!mode.equals("min") && !mode.equals("max")) {
            throw new CliError(ExitCode.USAGE, "--mode must be min or max, not '" + mode + "'");
        }
        return new Resolver.Metric(metric, mode.equals("min"));
    }
}
