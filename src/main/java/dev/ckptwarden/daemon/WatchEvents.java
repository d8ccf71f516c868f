package dev.ckptwarden.daemon;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Watch events between event passes: where they happened, per root, and when the next event pass
 * runs. Coalesced: at most one event pass is pending, and events within its window share it (a
 * 1,000-shard save is a few passes, not 1,000).
 */
final class WatchEvents {
    /** The longest that events after a pass wait for the next one. */
    static final Duration COALESCE = Duration.ofMillis(300);
    /** The shortest such wait: after a quick pass, the next save is looked at almost at once. */
    static final Duration COALESCE_MIN = Duration.ofMillis(20);

    private final Clock clock;
    private final PassSchedule schedule;
    private final AtomicBoolean pending = new AtomicBoolean();
    /** Where watch events happened since the last event pass, per root (guarded by itself). */
    private final Map<String, Set<Path>> changed = new HashMap<>();
    /** Roots where anything may have changed (the kernel's event queue overflowed): a full pass. */
    private final Set<String> changedAnywhere = new HashSet<>();
    private volatile Instant lastPass;
    private volatile Duration lastPassTook = Duration.ZERO;

    WatchEvents(Clock clock, PassSchedule schedule) {
        this.clock = clock;
        this.schedule = schedule;
    }

    /** An event in {@code where} under {@code root} (null: anywhere in it). */
    void dirty(String root, Path where) {
        synchronized (changed) {
            if (where == null) {
                changedAnywhere.add(root);
            } else {
                changed.computeIfAbsent(root, k -> new LinkedHashSet<>()).add(where);
            }
        }
        if (pending.compareAndSet(false, true)) {
            // Leading edge: a lone save after a quiet spell is looked at at once; events that follow
            // within the window share the next pass. The window is three times what the last event
            // pass took, between COALESCE_MIN and COALESCE, so event passes never take more than about
            // a quarter of the agent's time, however large the tree or fast the saves.
            Instant now = clock.instant();
            Instant last = lastPass;
            Duration window = coalesceWindow(lastPassTook);
            Instant at = last == null || !now.isBefore(last.plus(window)) ? now : last.plus(window);
            if (!schedule.once(PassKind.EVENT, at)) {
                pending.set(false);
            }
        }
    }

    /** How long events after an event pass wait for the next: three times that pass, within bounds. */
    static Duration coalesceWindow(Duration lastPass) {
        Duration w = lastPass.multipliedBy(3);
        return w.compareTo(COALESCE_MIN) < 0 ? COALESCE_MIN : w.compareTo(COALESCE) > 0 ? COALESCE : w;
    }

    /**
     * What an event pass starting now looks at, per root: the directories events named (null: the whole
     * root), taken so that events arriving during the pass go to the next one.
     */
    Map<String, Set<Path>> take(Instant now) {
        pending.set(false);
        lastPass = now;
        synchronized (changed) {
            Map<String, Set<Path>> out = new HashMap<>(changed);
            for (String root : changedAnywhere) {
                out.put(root, null);
            }
            changed.clear();
            changedAnywhere.clear();
            return out;
        }
    }

    /** How long the event pass took: the next window is three times that. */
    void passTook(Duration took) {
        lastPassTook = took;
    }
}
