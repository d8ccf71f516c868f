package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answers "which checkpoint do I resume from": {@code latest}, {@code best}, {@code step:N}
 * ({@code step_N}), {@code epoch:N}. Never returns a checkpoint that is still being written or failed
 * its integrity check; an alias resolves to the checkpoint it points at.
 */
public final class Resolver {
    private static final Pattern STEP = Pattern.compile("step[:_=](\\d+)");
    private static final Pattern EPOCH = Pattern.compile("epoch[:_=](\\d+)");

    private Resolver() {
    }

    /** How "best" is judged: a metric, whether lower is better, and what asked for it (for messages). */
    public record Metric(String name, boolean lowerIsBetter, String source) {
        /** A metric given explicitly ({@code --metric}, the API's {@code metric}). */
        public Metric(String name, boolean lowerIsBetter) {
            this(name, lowerIsBetter, "--metric");
        }

        /** The metric of a {@code keep_best} rule, or null for none. */
        public static Metric of(dev.ckptwarden.config.KeepBest keepBest) {
            return keepBest == null ? null
                    : new Metric(keepBest.metric(), keepBest.mode() == dev.ckptwarden.config.KeepBest.Mode.MIN, "keep_best");
        }
    }

    /**
     * Thrown for {@code best} when the run has no answer to "best by what" ({@link BestCheckpoint}): no
     * metric given or inferable, or none of its checkpoints carries the given one. The message names
     * the run's metrics. Nothing found (exit 1), not bad usage.
     */
    public static final class NoBest extends RuntimeException {
        public NoBest(String message) {
            super(message);
        }
    }

    /** Thrown for a selector that is not one of the forms above. */
    public static final class BadSelector extends IllegalArgumentException {
        public BadSelector(String message) {
            super(message);
        }
    }

    /**
     * @param run       checkpoints of one run (any states; only complete ones are eligible)
     * @param selector  latest | best | step:N | step_N | epoch:N
     * @param resumable only checkpoints that carry optimizer state
     * @param best      metric for "best"; null infers one ({@link BestCheckpoint})
     * @throws NoBest   for "best" when there is no way to tell which one is best
     */
    public static Optional<Registered> resolve(List<Registered> run, String selector, boolean resumable, Metric best) {
        return resolve(run, selector, resumable, best, false);
    }

    /**
     * As above; with {@code includeOffloaded}, checkpoints whose only copy is remote ({@code offloaded})
     * are eligible too (the caller turns them into their remote URI). Never by default: a path that is
     * not on the local disk is not something a training job can resume from as it is.
     */
    public static Optional<Registered> resolve(List<Registered> run, String selector, boolean resumable, Metric best,
                                               boolean includeOffloaded) {
        List<Registered> eligible = new ArrayList<>();
        for (Registered c : run) {
            boolean usable = c.state() == CheckpointState.COMPLETE
                    || includeOffloaded && c.state() == CheckpointState.OFFLOADED;
            if (usable && c.aliasOf() == null
                    && (!resumable || Boolean.TRUE.equals(c.resumable()))) {
                eligible.add(c);
            }
        }
        List<Registered> newest = Recency.newestFirst(eligible);
        String s = selector.trim().toLowerCase(Locale.ROOT);
        if (s.equals("latest") || s.equals("last")) {
            return newest.stream().findFirst();
        }
        if (s.equals("best")) {
            return best(newest, run, best);
        }
        Matcher m = STEP.matcher(s);
        if (m.matches()) {
            long step = number(m.group(1), Long.MAX_VALUE, selector);
            return newest.stream().filter(c -> c.step() != null && c.step() == step).findFirst();
        }
        m = EPOCH.matcher(s);
        if (m.matches()) {
            long epoch = number(m.group(1), Integer.MAX_VALUE, selector);
            return newest.stream().filter(c -> c.epoch() != null && c.epoch() == epoch).findFirst();
        }
        throw new BadSelector("unknown selector '" + selector + "': use latest, best, step:N, step_N or epoch:N");
    }

    /** The digits of a step or epoch selector: no checkpoint carries a number above {@code max}, so none is bad usage. */
    private static long number(String digits, long max, String selector) {
        try {
            long n = Long.parseLong(digits);
            if (n <= max) {
                return n;
            }
        } catch (NumberFormatException tooLong) {
            // more digits than a long holds: the same answer
        }
        throw new BadSelector("selector '" + selector + "': the number is too large (at most " + max + ")");
    }

    private static Optional<Registered> best(List<Registered> newestFirst, List<Registered> run, Metric metric) {
        BestCheckpoint.Choice choice = BestCheckpoint.choose(newestFirst, run, metric);
        if (choice.whyNone() != null) {
            throw new NoBest(choice.whyNone());
        }
        return choice.found();
    }
}
