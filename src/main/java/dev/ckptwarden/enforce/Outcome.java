package dev.ckptwarden.enforce;

import dev.ckptwarden.offload.OffloadException;

import java.util.Objects;

/**
 * What happened to one planned eviction. Code decides on {@link #kind()}, {@link #skip()} and
 * {@link #failure()}; only the edges (the CLI table and JSON, the audit log's {@code end} line, log
 * lines) turn it into {@link #words()}: {@code ok}, {@code dry-run}, {@code report},
 * {@code skipped:<why>} or {@code failed:<why>}.
 *
 * @param kind      removed, would be removed, skipped or failed
 * @param skip      why it was skipped; null unless {@link Kind#SKIPPED}
 * @param failure   what failed; null unless {@link Kind#FAILED}
 * @param offload   the offload copy's failure; null unless {@link Failure#OFFLOAD}
 * @param message   the I/O error in words; null unless {@link Failure#IO}
 * @param detail    more words on the outcome ("already gone", where the copy went, the path of a
 *                  symbolic link), or null
 */
public record Outcome(Kind kind, Skip skip, Failure failure, OffloadException.Kind offload, String message,
                      String detail) {

    /** The broad result. */
    public enum Kind {
        /** The checkpoint was removed (deleted, or offloaded and then removed), or was already gone. */
        REMOVED("ok"),
        /** {@code --dry-run}: it would have been removed. */
        DRY_RUN("dry-run"),
        /** {@code action: report}: it would be removed if the action were {@code delete}. */
        REPORT("report"),
        /** Not touched, on purpose. */
        SKIPPED("skipped:"),
        /** Not removed because something went wrong. */
        FAILED("failed:");

        private final String words;

        Kind(String words) {
            this.words = words;
        }
    }

    /** Why an eviction was not carried out on purpose: the words after {@code skipped:}. */
    public enum Skip {
        PINNED("pinned"),
        WRITING("writing"),
        CORRUPT("corrupt"),
        /** A {@code protected: } reason came with the eviction. */
        PROTECTED("protected"),
        OUTSIDE_ROOT("outside root"),
        SYMBOLIC_LINK("symbolic link"),
        CHANGED_SINCE_PLANNED("changed since planned"),
        NOT_REGISTERED("not registered"),
        /** The registry records it as deleted or offloaded, yet it is on disk. */
        NOT_PRESENT("not present"),
        WATCH_ONLY_ROOT("watch-only root"),
        OTHER_ROOT("other root"),
        /** The agent was asked to stop before this eviction's batch or copy started. */
        AGENT_STOPPING("agent stopping"),
        /** Recovery at a start: the crash came before anything was moved; it is whole in place. */
        INTERRUPTED_BEFORE_RENAME("interrupted before rename");

        private final String words;

        Skip(String words) {
            this.words = words;
        }

        public String words() {
            return words;
        }
    }

    /** What went wrong: the words after {@code failed:}. */
    public enum Failure {
        /** The registry holds deletions, or the guard (cluster lease) refused. */
        NOT_ALLOWED("not allowed to delete"),
        AUDIT_LOG_UNAVAILABLE("audit log unavailable"),
        /** An S3 deletion stopped part way and could not be undone. */
        DELETE_CUT_SHORT("delete cut short"),
        OFFLOAD_FROM_REMOTE_ROOT("offload from a remote root not supported"),
        OFFLOAD_NO_TARGET("offload no target"),
        /** The offload copy failed: {@code offload <what>}. */
        OFFLOAD("offload"),
        /** Any other I/O error: its message is the words. */
        IO(null);

        private final String words;

        Failure(String words) {
            this.words = words;
        }
    }

    public Outcome {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.SKIPPED) != (skip != null) || (kind == Kind.FAILED) != (failure != null)
                || (failure == Failure.OFFLOAD) != (offload != null) || (failure == Failure.IO) != (message != null)) {
            throw new IllegalArgumentException("inconsistent outcome " + kind + " " + skip + " " + failure + " "
                    + offload + " " + message);
        }
    }

    public static Outcome removed(String detail) {
        return new Outcome(Kind.REMOVED, null, null, null, null, detail);
    }

    public static Outcome dryRun(String detail) {
        return new Outcome(Kind.DRY_RUN, null, null, null, null, detail);
    }

    public static Outcome report(String detail) {
        return new Outcome(Kind.REPORT, null, null, null, null, detail);
    }

    public static Outcome skipped(Skip why, String detail) {
        return new Outcome(Kind.SKIPPED, Objects.requireNonNull(why, "why"), null, null, null, detail);
    }

    public static Outcome failed(Failure what, String detail) {
        if (what == Failure.OFFLOAD || what == Failure.IO) {
            throw new IllegalArgumentException(what + " needs its own words: use offloadFailed or ioFailed");
        }
        return new Outcome(Kind.FAILED, null, what, null, null, detail);
    }

    /** {@code failed:offload <kind's words>}. */
    public static Outcome offloadFailed(OffloadException.Kind kind, String detail) {
        return new Outcome(Kind.FAILED, null, Failure.OFFLOAD, Objects.requireNonNull(kind, "kind"), null, detail);
    }

    /** {@code failed:<message>}: an I/O error nothing more specific says. */
    public static Outcome ioFailed(String message, String detail) {
        return new Outcome(Kind.FAILED, null, Failure.IO, null, Objects.requireNonNull(message, "message"), detail);
    }

    /** The same outcome with other detail words. */
    public Outcome withDetail(String detail) {
        return new Outcome(kind, skip, failure, offload, message, detail);
    }

    /** True for {@link Kind#DRY_RUN} and {@link Kind#REPORT}: it would go if the pass were real. */
    public boolean wouldRemove() {
        return kind == Kind.DRY_RUN || kind == Kind.REPORT;
    }

    /** The outcome as the audit log, the CLI and the JSON write it; the detail is not part of it. */
    public String words() {
        return switch (kind) {
            case SKIPPED -> kind.words + skip.words;
            case FAILED -> kind.words + switch (failure) {
                case OFFLOAD -> failure.words + " " + offload.words();
                case IO -> message;
                default -> failure.words;
            };
            default -> kind.words;
        };
    }

    @Override
    public String toString() {
        return detail == null ? words() : words() + " (" + detail + ")";
    }
}
