package dev.ckptwarden.cli;

import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.config.ByteSize;

import dev.ckptwarden.export.CheckpointJson;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.RetentionPlan;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.Registry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code plan}: what retention would keep and evict now, with every reason; changes nothing. */
@Command(name = "plan", description = "What retention would keep and evict now, with every reason; changes nothing.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden plan --run llada8b/sft",
                "  ckpt-warden plan --root main --json"})
final class PlanCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--root", paramLabel = "ROOT", description = "only this root")
    String root;

    @Option(names = "--run", paramLabel = "RUN", description = "only this run id")
    String run;

    @Option(names = "--json", description = "machine output")
    boolean json;

    @Override
    public Integer call() {
        Config cfg = config.load();
        List<RootConfig> roots = RootSelection.of(cfg, root);
        Instant now = Clock.systemUTC().instant();
        List<RetentionPlan> plans = new ArrayList<>();
        // What the agent delays after a configuration change is listed as evict, with its time.
        PolicyChange change = ConfigOption.policyChange(cfg);
        try (Registry registry = ConfigOption.openRegistry(cfg)) {
            for (RootConfig r : roots) {
                List<Registered> registered = registry.list(r.name(), run, false);
                if (GoneFromDisk.lookAgain(cfg, registry, registered)) {
                    registered = registry.list(r.name(), run, false);
                }
                plans.add(RetentionPlan.of(registered, r, run, now, change));
            }
        }
        long evictBytes = plans.stream().mapToLong(RetentionPlan::evictBytes).sum();
        if (json) {
            System.out.println(CheckpointJson.write(json(plans, evictBytes)));
            return ExitCode.OK;
        }
        Table t = new Table("ROOT", "RUN", "NAME", "ACTION", "SIZE", "REASONS");
        int decisions = 0;
        int evict = 0;
        for (RetentionPlan p : plans) {
            for (Decision d : p.decisions()) {
                t.row(p.root(), d.checkpoint().run(), d.checkpoint().name(), d.verdict().id(),
                        ByteSize.format(d.checkpoint().bytes()), String.join("; ", Reason.texts(d.reasons())));
                decisions++;
                evict += d.verdict() == Verdict.EVICT ? 1 : 0;
            }
        }
        if (decisions == 0) {
            System.err.println("no checkpoints registered" + (run != null ? " for run " + TerminalText.escape(run) : "")
                    + " (run 'ckpt-warden scan' first?)");
            return ExitCode.OK;
        }
        t.print(System.out);
        System.out.println("evict " + evict + " of " + decisions + " checkpoint(s), " + ByteSize.format(evictBytes));
        return ExitCode.OK;
    }

    /**
     * SPEC "plan --json": {@code {"decisions": [{"path", "run", "action", "reasons"}], "evict_bytes": N}}; an
     * eviction waiting out a configuration change's grace adds {@code "not_before": "2026-...Z"}.
     */
    static ObjectNode json(List<RetentionPlan> plans, long evictBytes) {
        ObjectNode out = CheckpointJson.MAPPER.createObjectNode();
        ArrayNode arr = out.putArray("decisions");
        for (RetentionPlan p : plans) {
            for (Decision d : p.decisions()) {
                ObjectNode n = arr.addObject();
                n.put("path", d.checkpoint().location());
                n.put("run", d.checkpoint().run());
                n.put("action", d.verdict().id());
                ArrayNode reasons = n.putArray("reasons");
                d.reasons().forEach(r -> reasons.add(r.text()));
                if (d.notBefore() != null) {
                    n.put("not_before", d.notBefore().toString());
                }
            }
        }
        out.put("evict_bytes", evictBytes);
        return out;
    }
}
