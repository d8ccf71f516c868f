package dev.ckptwarden.cli;

import dev.ckptwarden.config.ByteSize;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.catalog.PathInspector;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.watch.Reconciler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;

/**
 * {@code inspect PATH}: framework, parsed name fields, state, size, integrity verdict. Works on any
 * path; a configuration (when one is found) supplies the root, name patterns and settle time.
 */
@Command(name = "inspect", description = "Framework, parsed name fields, state, size and integrity verdict of one path.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden inspect /data/checkpoints/exp1/last.ckpt",
                "  ckpt-warden inspect checkpoint-500/ --json"})
final class InspectCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(index = "0", paramLabel = "PATH", description = "a checkpoint file or directory (need not be registered)")
    Path path;

    @Option(names = "--json", description = "machine output")
    boolean json;

    @Override
    public Integer call() throws IOException {
        Path abs = path.toAbsolutePath().normalize();
        Config cfg = config.file != null || java.nio.file.Files.exists(ConfigOption.LOCAL_DEFAULT)
                || java.nio.file.Files.exists(ConfigOption.SYSTEM_DEFAULT) ? config.load() : null;
        RootConfig root = null;
        Path rootDir = null;
        if (cfg != null) {
            for (RootConfig r : cfg.roots()) {
                if (!r.isLocal()) {
                    continue;
                }
                Path d = r.localPath();
                Path real;
                try {
                    real = d.toRealPath();
                } catch (IOException e) {
                    continue;
                }
                if (!abs.startsWith(d) && abs.startsWith(real)) {
                    abs = d.resolve(real.relativize(abs)); // report it as scan does: under the root as configured
                }
                if (abs.startsWith(d)) {
                    root = r;
                    rootDir = d;
                    break;
                }
            }
        }
        Duration settle = cfg == null ? AgentSettings.defaults(Path.of(".")).settleTime() : cfg.agent().settleTime();
        NameParser names = root == null ? NameParser.standard() : NameParser.withPatterns(root.patterns());
        PathInspector inspector = new PathInspector(root == null ? Layout.AUTO : root.layout(), names, settle);
        Instant now = Instant.now();
        PathInspector.Result result = inspector.inspect(abs, root == null ? null : root.name(), rootDir, now);
        // Outside every root: the row registering it would make; under one: the scan's (with its pin).
        Registered c = root != null ? asScanned(cfg, root, abs)
                : result.isCheckpoint() ? Registered.merge(result.recognised(), null, now) : null;
        if (c == null) {
            if (root != null && result.isCheckpoint()) {
                result = new PathInspector.Result(null,
                        "not a checkpoint of its own where a scan of root " + root.name() + " looks");
            }
            if (json) {
                ObjectNode n = CheckpointJson.MAPPER.createObjectNode();
                n.put("path", abs.toString());
                n.put("checkpoint", false);
                n.put("reason", result.reason());
                System.out.println(CheckpointJson.write(n));
            } else {
                System.out.println(TerminalText.escape(abs + ": not a checkpoint: " + result.reason()));
            }
            return ExitCode.NOT_FOUND;
        }
        if (json) {
            System.out.println(CheckpointJson.write(CheckpointJson.of(c)));
        } else {
            Table t = new Table("FIELD", "VALUE");
            t.row("path", c.path());
            t.row("root", c.root().isEmpty() ? "(outside every configured root)" : c.root());
            t.row("run", c.run());
            t.row("name", c.name());
            t.row("framework", c.framework().id());
            t.row("kind", c.kind().id());
            t.row("state", c.state().id() + (c.note() != null ? " (" + c.note() + ")" : ""));
            t.row("epoch", c.epoch());
            t.row("step", c.step());
            t.row("metrics", LsCommand.metrics(c.metrics()));
            t.row("size", ByteSize.format(c.bytes()) + " (" + c.bytes() + " bytes)");
            t.row("modified", c.modified());
            t.row("resumable", c.resumable() == null ? "unknown" : c.resumable() ? "yes (optimizer state present)" : "no (weights only)");
            t.row("alias of", c.aliasOf());
            t.row("integrity", c.problems().isEmpty() ? "ok" : String.join("; ", c.problems()));
            if (!c.members().isEmpty()) {
                t.row("files", String.join(", ", c.members()));
            }
            t.print(System.out);
        }
        return ExitCode.OK;
    }

    /**
     * Under a configured root, inspect answers exactly what {@code scan} registers there (run, name,
     * metrics, alias, pin): the scan's own recognition decides. The path-only inspection supplies the
     * reason when the path is not a checkpoint.
     */
    private static Registered asScanned(Config cfg, RootConfig root, Path abs) throws IOException {
        try (Registry registry = ConfigOption.openRegistry(cfg);
             Reconciler reconciler = new Reconciler(registry, Clock.systemUTC())) {
            return reconciler.asScanned(cfg, root, abs);
        }
    }
}
