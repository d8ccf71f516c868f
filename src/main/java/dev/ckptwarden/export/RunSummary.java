package dev.ckptwarden.export;

import dev.ckptwarden.registry.Recency;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.registry.BestCheckpoint;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.registry.PresentRuns;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one run holds on disk now: the figures behind {@code /api/v1/runs} and the per-run metrics.
 * Progress ({@code latestStep}, {@code lastCheckpoint}, the best metric) counts complete checkpoints
 * only, and never an alias: a save that hangs or fails its check is not progress, and
 * {@code last.ckpt} is a second name for a checkpoint already counted.
 *
 * @param bytes          total size of its present checkpoints (aliases included: a copy takes real space)
 * @param latestStep     the step of the newest complete checkpoint that has one ({@link Recency}: the save
 *                       {@code resolve latest} answers), null when none has a step. Not the highest step: a
 *                       job started again from step 0 in the same directory makes progress from there.
 * @param lastCheckpoint newest modification time among complete checkpoints, null when none is complete
 * @param bestMetric     the run's {@code keep_best} metric, null when its retention has none
 * @param bestValue      the best finite value of that metric among complete checkpoints, null when none
 */
public record RunSummary(String root, String run, int writing, int complete, int corrupt, long bytes,
        Long latestStep, Instant lastCheckpoint, String bestMetric, Double bestValue) {

    /** Checkpoints present on disk (writing, complete and corrupt). */
    public int total() {
        return writing + complete + corrupt;
    }

    /**
     * Summarises every run that has a checkpoint in a present state; deleted and offloaded history in
     * {@code checkpoints} is ignored. Ordered by root, then run.
     *
     * @param config supplies each run's {@code keep_best} metric (overrides applied); runs of roots it
     *               does not name get no best metric
     */
    public static List<RunSummary> of(Collection<Registered> checkpoints, Config config) {
        Map<String, Map<String, List<Registered>>> byRoot = new TreeMap<>();
        for (Registered c : checkpoints) {
            if (c.state().present()) {
                byRoot.computeIfAbsent(c.root(), r -> new TreeMap<>()).computeIfAbsent(c.run(), r -> new ArrayList<>()).add(c);
            }
        }
        List<RunSummary> out = new ArrayList<>();
        byRoot.forEach((root, runs) -> {
            RootConfig rc = config == null ? null : config.root(root);
            runs.forEach((run, list) -> out.add(summarise(root, run, list, keepBest(rc, run))));
        });
        return out;
    }

    /** Summarises a root's runs as they are visited, one run at a time; ordered by root, then run. */
    public static List<RunSummary> of(PresentRuns runs, Config config) {
        List<RunSummary> out = new ArrayList<>();
        runs.forEachRun(run -> out.addAll(of(run, config)));
        return out;
    }

    private static RunSummary summarise(String root, String run, List<Registered> list, KeepBest best) {
        int writing = 0;
        int complete = 0;
        int corrupt = 0;
        long bytes = 0;
        List<Registered> stepped = new ArrayList<>();
        Instant last = null;
        Double bestValue = null;
        for (Registered c : list) {
            bytes += c.bytes();
            switch (c.state()) {
                case WRITING -> writing++;
                case CORRUPT -> corrupt++;
                case COMPLETE -> complete++;
                default -> {
                }
            }
            if (!c.isComplete() || c.aliasOf() != null) {
                continue;
            }
            if (c.step() != null) {
                stepped.add(c);
            }
            if (c.modified() != null && (last == null || c.modified().isAfter(last))) {
                last = c.modified();
            }
            Double v = best == null ? null : c.metrics().get(best.metric());
            if (BestCheckpoint.ranks(v) && (bestValue == null
                    || (best.mode() == KeepBest.Mode.MIN ? v < bestValue : v > bestValue))) {
                bestValue = v;
            }
        }
        Long latestStep = stepped.isEmpty() ? null : Recency.newestFirst(stepped).get(0).step();
        return new RunSummary(root, run, writing, complete, corrupt, bytes, latestStep, last,
                best == null ? null : best.metric(), bestValue);
    }

    private static KeepBest keepBest(RootConfig root, String run) {
        return RetentionPolicy.keepBest(root, run);
    }
}
