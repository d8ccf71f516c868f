package dev.ckptwarden.export;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.PolicyChangeFile;
import dev.ckptwarden.enforce.RetentionPlan;
import dev.ckptwarden.export.HttpApi.ApiError;
import dev.ckptwarden.export.HttpApi.Response;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.PolicyChange;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.Resolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static dev.ckptwarden.export.QueryParams.flag;
import static dev.ckptwarden.export.QueryParams.required;

/**
 * The JSON reads under {@code /api/v1} that {@link HttpApi} routes: runs, a run's checkpoints, resolve and the
 * retention plan, from the registry and the configuration in force. A bad parameter is an {@link ApiError}.
 */
final class RegistryRoutes {
    // Logged under HttpApi, the name an operator's logging configuration already knows.
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

    private final Registry registry;
    private final Supplier<Config> config;
    private final Clock clock;
    private final DiskResolver resolver;

    RegistryRoutes(Registry registry, Supplier<Config> config, Clock clock, DiskResolver resolver) {
        this.registry = registry;
        this.config = config;
        this.clock = clock;
        this.resolver = resolver;
    }

    Response runs(Map<String, String> query) {
        List<RunSummary> summaries = RunSummary.of(registry.list(root(query), null, false), config.get());
        ObjectNode out = CheckpointJson.MAPPER.createObjectNode();
        ArrayNode arr = out.putArray("runs");
        for (RunSummary s : summaries) {
            ObjectNode n = arr.addObject();
            n.put("root", s.root());
            n.put("run", s.run());
            ObjectNode counts = n.putObject("checkpoints");
            counts.put("writing", s.writing());
            counts.put("complete", s.complete());
            counts.put("corrupt", s.corrupt());
            counts.put("total", s.total());
            n.put("bytes", s.bytes());
            if (s.latestStep() == null) {
                n.putNull("latest_step");
            } else {
                n.put("latest_step", s.latestStep());
            }
            if (s.lastCheckpoint() == null) {
                n.putNull("last_checkpoint");
            } else {
                n.put("last_checkpoint", s.lastCheckpoint().toString());
            }
            if (s.bestValue() == null) {
                n.putNull("best");
            } else {
                ObjectNode best = n.putObject("best");
                best.put("metric", s.bestMetric());
                best.put("value", s.bestValue());
            }
        }
        return Response.json(200, out);
    }

    Response checkpoints(Map<String, String> query) {
        String run = required(query, "run");
        boolean all = flag(query, "all");
        List<Registered> list = registry.list(root(query), run, all);
        if (list.isEmpty()) {
            throw new ApiError(404, "no checkpoints registered for run '" + run + "'"
                    + (query.containsKey("root") ? " in root '" + query.get("root") + "'" : ""));
        }
        return Response.json(200, CheckpointJson.list(list));
    }

    Response resolve(Map<String, String> query) {
        String run = required(query, "run");
        String which = required(query, "which");
        boolean resumable = flag(query, "resumable");
        DiskResolver.Answer answer;
        try {
            answer = resolver.resolve(config.get(), root(query), run, which, resumable, bestMetric(query), false);
        } catch (Resolver.BadSelector | DiskResolver.SeveralRoots e) {
            throw new ApiError(400, e.getMessage());
        } catch (Resolver.NoBest e) {
            throw new ApiError(404, "run '" + run + "': " + e.getMessage());
        }
        if (!answer.runHasCheckpoints()) {
            throw new ApiError(404, "no checkpoints registered or found on disk for run '" + run + "'");
        }
        if (!answer.found()) {
            throw new ApiError(404, "no complete" + (resumable ? " resumable" : "") + " checkpoint matches '" + which
                    + "' in run '" + run + "'");
        }
        return Response.json(200, CheckpointJson.of(answer.checkpoint()));
    }

    /** The metric and mode asked for, or null for the run's effective keep_best. */
    private static Resolver.Metric bestMetric(Map<String, String> query) {
        String metric = query.get("metric");
        String mode = query.getOrDefault("mode", "min");
        if (!mode.equals("min") && !mode.equals("max")) {
            throw new ApiError(400, "mode must be min or max, not '" + mode + "'");
        }
        if (metric != null) {
            if (metric.isBlank()) {
                throw new ApiError(400, "metric must not be empty");
            }
            return new Resolver.Metric(metric, mode.equals("min"));
        }
        if (query.containsKey("mode")) {
            throw new ApiError(400, "mode needs metric");
        }
        return null;
    }

    Response plan(Map<String, String> query) {
        Config cfg = config.get();
        String rootName = root(query);
        List<RootConfig> roots = rootName == null ? cfg.roots() : List.of(cfg.root(rootName));
        Instant now = clock.instant();
        PolicyChange change = policyChange(cfg);
        List<Decision> decisions = new ArrayList<>();
        for (RootConfig root : roots) {
            // The planner that `plan` and enforcement use: the API answers what they answer.
            decisions.addAll(RetentionPlan.of(registry, root, query.get("run"), now, change).decisions());
        }
        return Response.json(200, CheckpointJson.plan(decisions));
    }

    /** The {@code root} parameter, or null when absent; a root not configured is refused on every path, as the CLI does. */
    private String root(Map<String, String> query) {
        String name = query.get("root");
        Config cfg = config.get();
        if (name != null && cfg.root(name) == null) {
            List<String> names = cfg.roots().stream().map(RootConfig::name).toList();
            throw new ApiError(400, "unknown root '" + name + "' (configured: " + String.join(", ", names) + ")");
        }
        return name;
    }

    /** The evictions the agent delays after a configuration change, as recorded in state_dir; none when unreadable. */
    private static PolicyChange policyChange(Config cfg) {
        try {
            return PolicyChangeFile.read(cfg.agent().stateDir(), ZoneId.systemDefault());
        } catch (IOException e) {
            log.warn("/api/v1/plan: {}", e.getMessage());
            return PolicyChange.NONE;
        }
    }
}
