package dev.ckptwarden.daemon;

import dev.ckptwarden.catalog.StateJudge;
import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Settle timers, one per directory holding checkpoints still settling (a run directory): when each may
 * get its verdict (the first of its settling checkpoints' verdict times). A settle pass looks only at the
 * directories due by then, so a save settling in one run never makes the agent read another run, and each
 * run's timer fires on its own. A clock stepped back never makes a settle time lie in the past: the next
 * try is then one settle time from now.
 */
final class Settling {
    /**
     * How early a timer may fire and still find its directory due: a scheduler may wake a few milliseconds
     * before the instant asked for, and a directory left behind then would have no timer left.
     */
    static final Duration EARLY = Duration.ofMillis(25);

    /** Per root, per directory of still-settling checkpoints, when its settle check is due (guarded by this). */
    private final Map<String, Map<Path, Instant>> due = new HashMap<>();

    /**
     * After a pass: the directories still settling, per root, and when each is due. A directory whose check is
     * still pending at an earlier time keeps that time (its timer is set; the pass just done may not have looked
     * at it). Directories no longer settling are dropped.
     *
     * @return the instants a settle pass is to be asked for: those of directories new or due at another time
     */
    synchronized Set<Instant> update(Map<String, Map<Path, Instant>> stillSettling) {
        Set<Instant> schedule = new TreeSet<>();
        Map<String, Map<Path, Instant>> next = new HashMap<>();
        stillSettling.forEach((root, dirs) -> {
            Map<Path, Instant> before = due.getOrDefault(root, Map.of());
            Map<Path, Instant> after = new LinkedHashMap<>();
            dirs.forEach((dir, at) -> {
                Instant pending = before.get(dir);
                Instant when = earliest(pending, at);
                after.put(dir, when);
                if (!when.equals(pending)) {
                    schedule.add(when);
                }
            });
            if (!after.isEmpty()) {
                next.put(root, after);
            }
        });
        due.clear();
        due.putAll(next);
        return schedule;
    }

    /**
     * What a settle pass starting {@code now} looks at, per root: the directories whose check is due by then,
     * taken (the pass settles them, and the next update sets their timers again if they are still settling).
     * Empty when nothing is due: a pass since has already looked, or the timer is another directory's.
     */
    synchronized Map<String, Set<Path>> take(Instant now) {
        Instant by = now.plus(EARLY);
        Map<String, Set<Path>> out = new HashMap<>();
        for (Map.Entry<String, Map<Path, Instant>> root : due.entrySet()) {
            for (Iterator<Map.Entry<Path, Instant>> it = root.getValue().entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Path, Instant> dir = it.next();
                if (!dir.getValue().isAfter(by)) {
                    out.computeIfAbsent(root.getKey(), k -> new LinkedHashSet<>()).add(dir.getKey());
                    it.remove();
                }
            }
        }
        due.values().removeIf(Map::isEmpty);
        return out;
    }

    /** Per directory holding checkpoints still settling, when the first of them may get its verdict ({@link #due}). */
    static Map<Path, Instant> dueByDirectory(List<Registered> checkpoints, Duration settle, Instant now) {
        Map<Path, List<Registered>> byDir = new LinkedHashMap<>();
        for (Registered c : checkpoints) {
            if (StateJudge.settling(c.state(), c.note()) && c.path().getParent() != null) {
                byDir.computeIfAbsent(c.path().getParent(), k -> new ArrayList<>()).add(c);
            }
        }
        Map<Path, Instant> out = new LinkedHashMap<>();
        byDir.forEach((dir, settling) -> out.put(dir, due(settling, settle, now)));
        return out;
    }

    /**
     * When the first still-settling checkpoint may get its verdict: its last change plus settle time (plus
     * the grace when its format check fails, {@link StateJudge#verdictDue}); null when none is settling.
     */
    static Instant due(List<Registered> checkpoints, Duration settle, Instant now) {
        Instant due = null;
        for (Registered c : checkpoints) {
            if (StateJudge.settling(c.state(), c.note())) {
                Instant t = StateJudge.verdictDue(c.facts(), settle).plusMillis(50);
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
