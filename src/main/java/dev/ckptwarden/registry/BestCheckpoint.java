package dev.ckptwarden.registry;


import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which checkpoint of a run is "best", and by what: the one answer {@code resolve best}, the API and
 * retention's protected set share (SPEC "Command line"), so that {@code plan} and {@code resolve}
 * name the same checkpoint. In order:
 * <ol>
 *   <li>a metric given (the run's effective {@code keep_best}, or {@code --metric}): the best value;</li>
 *   <li>else the best the framework recorded: the checkpoint the run's newest naming checkpoint names
 *       (HF {@code best_model_checkpoint}, chosen by {@code metric_for_best_model}/{@code
 *       greater_is_better}; Lightning's {@code best_model_path}, chosen by its ModelCheckpoint's
 *       {@code monitor}/{@code mode}), when that checkpoint is among the candidates;</li>
 *   <li>else, when the run's checkpoints carry exactly one metric, the best value of that one: lower
 *       is better for names with {@code loss}, {@code error} or {@code perplexity}, else higher.</li>
 * </ol>
 * Otherwise there is no answer, and {@link Choice#whyNone()} says why, listing the run's metrics.
 */
public final class BestCheckpoint {
    private static final List<String> LOWER_IS_BETTER = List.of("loss", "error", "perplexity");

    private BestCheckpoint() {
    }

    /**
     * @param checkpoint the best one, or null
     * @param basis      how it was judged ("keep_best val_loss min", "best_model_path in last.ckpt", ...), or null
     * @param metric     the metric it was judged by, or null when the framework's record chose it
     * @param whyNone    when there is no best: why, in one line naming the run's metrics; else null
     */
    public record Choice(Registered checkpoint, String basis, Resolver.Metric metric, String whyNone) {
        public Optional<Registered> found() {
            return Optional.ofNullable(checkpoint);
        }
    }

    /**
     * @param candidates the checkpoints that may be the answer (complete, not aliases, ...), newest first
     * @param run        every checkpoint of the run, for the framework's record (any order, any state)
     * @param given      the metric to judge by, or null to infer one
     */
    public static Choice choose(List<Registered> candidates, List<Registered> run, Resolver.Metric given) {
        if (given != null) {
            Registered best = bestBy(candidates, given);
            String basis = given.source() + " " + given.name() + " " + (given.lowerIsBetter() ? "min" : "max");
            if (best == null && !candidates.isEmpty()) {
                return new Choice(null, basis, given, "no complete checkpoint of the run carries " + given.name() + " ("
                        + given.source() + "); its checkpoints carry " + describe(metrics(run)));
            }
            return new Choice(best, basis, given, null);
        }
        Optional<Registered> namer = Recency.newestFirst(run).stream().filter(c -> !c.references().isEmpty()).findFirst();
        if (namer.isPresent()) {
            for (Path target : namer.get().references()) {
                for (Registered c : candidates) {
                    if (c.path().equals(target)) {
                        return new Choice(c, "the best recorded in " + namer.get().name(), null, null);
                    }
                }
            }
        }
        Set<String> carried = metrics(candidates);
        if (carried.size() == 1) {
            String name = carried.iterator().next();
            Resolver.Metric inferred = new Resolver.Metric(name, lowerIsBetter(name));
            return new Choice(bestBy(candidates, inferred), "the run's only metric " + name + " "
                    + (inferred.lowerIsBetter() ? "min" : "max"), inferred, null);
        }
        if (candidates.isEmpty()) {
            return new Choice(null, null, null, null);
        }
        return new Choice(null, null, null, "'best' needs a metric: no keep_best for this run, no best recorded by the"
                + " framework, and its checkpoints carry " + describe(metrics(run))
                + "; pass --metric NAME [--mode max] or configure retention.keep_best");
    }

    /** Lower is better for metric names with loss, error or perplexity in them (any case), else higher. */
    public static boolean lowerIsBetter(String metric) {
        String m = metric.toLowerCase(Locale.ROOT);
        return LOWER_IS_BETTER.stream().anyMatch(m::contains);
    }

    /**
     * Whether a metric value may rank at all ("best", keep_best's slots, the best-metric gauge): a value that
     * is missing or not finite (NaN, a diverged run's infinity) never does.
     */
    public static boolean ranks(Double value) {
        return value != null && Double.isFinite(value);
    }

    /**
     * The best value by the metric; a checkpoint without it, or with a value that is not finite (NaN, a
     * diverged run's infinity), is never best; ties go to the newer.
     */
    private static Registered bestBy(List<Registered> newestFirst, Resolver.Metric metric) {
        Registered winner = null;
        double bestValue = 0;
        for (Registered c : newestFirst) {
            Double v = c.metrics().get(metric.name());
            if (!ranks(v)) {
                continue;
            }
            if (winner == null || (metric.lowerIsBetter() ? v < bestValue : v > bestValue)) {
                winner = c;
                bestValue = v;
            }
        }
        return winner;
    }

    private static Set<String> metrics(List<Registered> checkpoints) {
        Set<String> names = new TreeSet<>();
        for (Registered c : checkpoints) {
            c.metrics().forEach((k, v) -> {
                if (ranks(v)) {
                    names.add(k);
                }
            });
        }
        return names;
    }

    private static String describe(Set<String> metrics) {
        return metrics.isEmpty() ? "no metrics" : (metrics.size() == 1 ? "one metric: " : "the metrics ")
                + String.join(", ", metrics);
    }
}
