package dev.ckptwarden.enforce;

import java.nio.file.Path;
import java.util.List;

/**
 * What one enforcement pass over one root did, or in a dry run would do: one item per eviction, in
 * the order given, and what went wrong beside the evictions themselves.
 *
 * @param action   the root's action ({@code delete}, {@code report}, {@code offload})
 * @param problems failures outside any one eviction's outcome (a trash entry left behind, an audit
 *                 end line that could not be written, a registry update that failed)
 */
public record EnforcementReport(String root, Path rootDir, String action, boolean dryRun, List<Item> items,
                                List<String> problems) {
    /** The checkpoint was removed (or was already gone). */
    public static final String OK = "ok";
    /** {@code --dry-run}: it would have been removed. */
    public static final String DRY_RUN = "dry-run";
    /** {@code action: report}: it would be removed if the action were {@code delete}. */
    public static final String REPORT = "report";
    public static final String SKIPPED = "skipped:";
    public static final String FAILED = "failed:";

    public EnforcementReport {
        items = List.copyOf(items);
        problems = List.copyOf(problems);
    }

    /**
     * One eviction's outcome.
     *
     * @param bytes   the checkpoint's size (as found just before acting, else as planned)
     * @param reason  the eviction's reason ({@code policy}, {@code quota}, ...)
     * @param outcome {@value #OK}, {@value #DRY_RUN}, {@value #REPORT}, {@code skipped:<why>} or {@code failed:<why>}
     * @param detail  more words on the outcome, or null
     * @param freed   bytes actually released on disk by this eviction (0 unless it was removed here)
     */
    public record Item(Path path, String run, long bytes, String reason, String outcome, String detail, long freed) {

        public boolean removed() {
            return OK.equals(outcome);
        }

        public boolean skipped() {
            return outcome.startsWith(SKIPPED);
        }

        public boolean failed() {
            return outcome.startsWith(FAILED);
        }

        /** True for {@value #DRY_RUN} and {@value #REPORT}: it would go if the pass were real. */
        public boolean wouldRemove() {
            return DRY_RUN.equals(outcome) || REPORT.equals(outcome);
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
