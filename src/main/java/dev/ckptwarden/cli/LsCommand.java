package dev.ckptwarden.cli;

import dev.ckptwarden.config.ByteSize;

import dev.ckptwarden.config.Config;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;

/** {@code ls}: registered checkpoints; {@code --all} adds deleted and offloaded history. */
@Command(name = "ls", description = "Registered checkpoints (--all includes deleted and offloaded history).",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden ls --run exp1",
                "  ckpt-warden ls --all --json"})
final class LsCommand implements Callable<Integer> {
    static final Comparator<Registered> ORDER = Comparator.comparing(Registered::root).thenComparing(Registered::run)
            .thenComparing(c -> c.step() == null ? Long.MIN_VALUE : c.step())
            .thenComparing(Registered::modified).thenComparing(Registered::name);

    @Mixin
    ConfigOption config;

    @Option(names = "--run", paramLabel = "RUN", description = "only this run id")
    String run;

    @Option(names = "--root", paramLabel = "ROOT", description = "only this root")
    String root;

    @Option(names = "--all", description = "include deleted and offloaded history")
    boolean all;

    @Option(names = "--json", description = "machine output")
    boolean json;

    @Override
    public Integer call() {
        Config cfg = config.load();
        List<Registered> list;
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            list = registry.list(root, run, all);
            if (GoneFromDisk.lookAgain(cfg, registry, list)) {
                list = registry.list(root, run, all);
            }
        }
        if (json) {
            System.out.println(CheckpointJson.write(CheckpointJson.list(list)));
        } else {
            Table t = table(list, all);
            if (t.isEmpty()) {
                System.err.println("no checkpoints registered" + (run != null ? " for run " + TerminalText.escape(run) : "")
                        + " (run 'ckpt-warden scan' first?)");
            }
            t.print(System.out);
        }
        return ExitCode.OK;
    }

    static Table table(List<Registered> list, boolean history) {
        Table t = history
                ? new Table("ROOT", "RUN", "NAME", "FRAMEWORK", "STATE", "EPOCH", "STEP", "METRICS", "SIZE", "FLAGS", "SINCE", "NOTE")
                : new Table("ROOT", "RUN", "NAME", "FRAMEWORK", "STATE", "EPOCH", "STEP", "METRICS", "SIZE", "FLAGS");
        for (Registered c : list) {
            Object[] cells = {c.root(), c.run(), c.name(), c.framework().id(), c.state().id(), c.epoch(), c.step(),
                    metrics(c.metrics()), ByteSize.format(c.bytes()), flags(c), c.stateSince(), c.note()};
            t.row(history ? cells : java.util.Arrays.copyOf(cells, 10));
        }
        return t;
    }

    static String metrics(Map<String, Double> metrics) {
        if (metrics.isEmpty()) {
            return "-";
        }
        StringJoiner j = new StringJoiner(",");
        metrics.forEach((k, v) -> j.add(k + "=" + String.format(Locale.ROOT, "%.4g", v)));
        return j.toString();
    }

    static String flags(Registered c) {
        StringJoiner j = new StringJoiner(",");
        if (c.pinned()) {
            j.add("pinned");
        }
        if (Boolean.TRUE.equals(c.resumable())) {
            j.add("resumable");
        } else if (Boolean.FALSE.equals(c.resumable())) {
            j.add("weights-only");
        }
        if (c.aliasOf() != null) {
            j.add("alias->" + c.aliasOf().getFileName());
        }
        if (!c.problems().isEmpty()) {
            j.add(c.problems().size() + " problem(s)");
        }
        return j.length() == 0 ? "-" : j.toString();
    }
}
