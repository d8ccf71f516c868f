package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.StateJudge;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checkpoints still settling after the last pass, per root: where the next settle pass looks, and
 * when it is due (the first settling checkpoint's verdict time). A clock stepped back never makes a
 * settle time lie in the past: the next try is then one settle time from now.
 */
final class Settling {
    /** Per root, the directories of checkpoints that were still settling after the last pass. */
    private volatile Map<String, Set<Path>> dirs = Map.of();

    /** What a settle pass looks at, per root. */
    Map<String, Set<Path>> scopes() {
        return dirs;
    }

    void set(Map<String, Set<Path>> stillSettling) {
        dirs = Map.copyOf(stillSettling);
    }

    /** The directories holding checkpoints still settling: where the next settle pass looks. */
    static Set<Path> dirs(List<Checkpoint> checkpoints) {
        Set<Path> out = new HashSet<>();
        for (Checkpoint c : checkpoints) {
            if (StateJudge.settling(c) && c.path().getParent() != null) {
                out.add(c.path().getParent());
            }
        }
        return out;
    }

    /**
     * When the first still-settling checkpoint may get its verdict: its last change plus settle time (plus
     * the grace when its format check fails, {@link StateJudge#verdictDue}); null when none is settling.
     */
    static Instant due(List<Checkpoint> checkpoints, Duration settle, Instant now) {
        Instant due = null;
        for (Checkpoint c : checkpoints) {
            if (StateJudge.settling(c)) {
                Instant t = StateJudge.verdictDue(c, settle).plusMillis(50);
                if (t.isBefore(now)) {
                    t = now.plus(settle); // clock stepped back: try again one settle time from now
                } else if (c.modified().isAfter(now)) {
                    // The clock stepped back after the last write: the reconciler measures the quiet from when it
                    // first saw these files (RunSettler), so look again one settle time from now, not an hour later.
                    t = now.plus(settle).plusMillis(50);
                }
                due = earliest(due, t);
            }
        }
        return due;
    }

    static Instant earliest(Instant a, Instant b) {
        return a == null ? b : b == null ? a : a.isBefore(b) ? a : b;
    }
}
