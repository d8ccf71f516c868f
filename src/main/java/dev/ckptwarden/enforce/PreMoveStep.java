package dev.ckptwarden.enforce;

import java.io.IOException;

/**
 * Work done for an eviction after its fresh look and before its move, inside its audit lines, supplied
 * from outside the deletion protocol: {@code action: offload}'s verified copy ({@link OffloadStep}).
 * The protocol knows nothing of what the step does; it only goes on or stops with the step's outcome.
 */
interface PreMoveStep {

    /**
     * @return go on (with words for the eviction's detail), or stop with the eviction's outcome
     */
    Result before(Eviction e, TrashBackend.Look look) throws IOException;

    /**
     * @param detail    words for the eviction's detail when it goes on
     * @param stop      the eviction's outcome when it stops here (nothing moved), or null to go on
     * @param stopBytes the checkpoint's size to report when it stops
     */
    record Result(String detail, Outcome stop, long stopBytes) {
        static Result go(String detail) {
            return new Result(detail, null, 0);
        }

        static Result stop(Outcome outcome, long bytes) {
            return new Result(null, outcome, bytes);
        }
    }
}
