package dev.ckptwarden.policy;

import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.registry.BestCheckpoint;
import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code keep_best: {k, metric, mode}}: the k best complete checkpoints by a metric; reason
 * {@code "keep_best 2/3 val_loss=0.1234"}.
 *
 * <p>A checkpoint without the metric, or whose value is not finite, never counts as best and takes no
 * slot: Lightning's top-k once ranked a NaN monitor as best because every comparison with NaN is false,
 * and an infinity on the good side is a diverged run (a Gaussian NLL collapsing to -inf), not the model
 * to keep; the framework's own best pointer, if it names such a save, still protects it. Equal values
 * rank the newer checkpoint first.
 */
final class KeepBestRule implements RetentionRule {

    private final KeepBest spec;

    KeepBestRule(KeepBest spec) {
        validate(spec);
        this.spec = spec;
    }

    static void validate(KeepBest spec) {
        if (spec.k() < 0) {
            throw new IllegalArgumentException("keep_best.k must not be negative: " + spec.k());
        }
        if (spec.metric() == null || spec.metric().isBlank()) {
            throw new IllegalArgumentException("keep_best.metric is missing");
        }
        if (spec.mode() == null) {
            throw new IllegalArgumentException("keep_best.mode is missing (min or max)");
        }
    }

    @Override
    public Map<Path, Reason> keeps(List<Registered> candidates, Instant now) {
        List<Registered> ranked = ranked(candidates, spec);
        Map<Path, Reason> kept = new LinkedHashMap<>();
        for (int i = 0; i < Math.min(spec.k(), ranked.size()); i++) {
            Registered c = ranked.get(i);
            kept.put(c.path(), Reason.keepBest(i + 1, spec.k(), spec.metric(), c.metrics().get(spec.metric())));
        }
        return kept;
    }

    /** The candidates that have a usable value of the metric, best first; candidates come newest first. */
    static List<Registered> ranked(List<Registered> candidates, KeepBest spec) {
        Comparator<Registered> byValue = Comparator.comparingDouble(c -> c.metrics().get(spec.metric()));
        // Stream.sorted is stable on an ordered stream, so among equal values the newer candidate stays first.
        return candidates.stream()
                .filter(c -> hasValue(c, spec.metric()))
                .sorted(spec.mode() == KeepBest.Mode.MAX ? byValue.reversed() : byValue)
                .toList();
    }

    private static boolean hasValue(Registered c, String metric) {
        Double v = c.metrics().get(metric);
        return BestCheckpoint.ranks(v);
    }
}
