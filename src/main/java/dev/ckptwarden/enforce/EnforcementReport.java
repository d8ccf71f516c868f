package dev.ckptwarden.enforce;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What one enforcement pass over one root did, or in a dry run would do: one item per eviction, in
 * the order given, and what went wrong beside the evictions themselves.
 *
 * @param action   the root's action
 * @param problems failures outside any one eviction's outcome (a trash entry left behind, an audit
 *                 end line that could not be written, a registry update that failed)
 */
public record EnforcementReport(String root, Path rootDir, Action action, boolean dryRun, List<Item> items,
                                List<String> problems) {

    public EnforcementReport {
        Objects.requireNonNull(action, "action");
        items = List.copyOf(items);
        problems = List.copyOf(problems);
    }

    /**
     * One eviction's outcome.
     *
     * @param bytes  the checkpoint's size (as found just before acting, else as planned)
     * @param cause  why it was to be removed
     * @param result what happened to it
     * @param freed  bytes actually released on disk by this eviction (0 unless it was removed here)
     */
    public record Item(Path path, String run, long bytes, EvictionCause cause, Outcome result, long freed) {

        public Item {
            Objects.requireNonNull(cause, "cause");
            Objects.requireNonNull(result, "result");
        }

        /** The outcome in words, as the audit log, the CLI and the JSON show it ({@link Outcome#words()}). */
        public String outcome() {
            return result.words();
        }

        /** More words on the outcome, or null. */
        public String detail() {
            return result.detail();
        }

        public boolean removed() {
            return result.kind() == Outcome.Kind.REMOVED;
        }

        public boolean skipped() {
            return result.kind() == Outcome.Kind.SKIPPED;
        }

        public boolean failed() {
            return result.kind() == Outcome.Kind.FAILED;
        }

        /** True for a dry run and {@code action: report}: it would go if the pass were real. */
        public boolean wouldRemove() {
            return result.wouldRemove();
        }

        /** The same item with {@code freed} bytes released. */
        Item withFreed(long freed) {
            return new Item(path, run, bytes, cause, result, freed);
        }
    }

    /** Bytes released on disk by this pass. */
    public long freedBytes() {
        return items.stream().mapToLong(Item::freed).sum();
    }

    /** Bytes a dry run or {@code action: report} pass would release. */
    public long wouldFreeBytes() {
        return items.stream().filter(Item::wouldRemove).mapToLong(Item::bytes).sum();
    }

    public boolean anyFailed() {
        return items.stream().anyMatch(Item::failed) || !problems.isEmpty();
    }
}
