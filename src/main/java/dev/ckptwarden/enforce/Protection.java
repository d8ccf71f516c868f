package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.registry.Registered;

import java.util.Objects;
import java.util.Optional;

/**
 * The refusals that need no look at the disk, the same for every backend: the eviction's root, a
 * watch-only root, a {@code protected: } reason, and the registry's row read again now (pinned,
 * writing, corrupt, not registered, or changed since the plan).
 */
final class Protection {

    private Protection() {
    }

    /** Why {@code e} may not be evicted whatever the disk says, or null. */
    static Refusal refusal(RootConfig root, Eviction e, Optional<Registered> row) {
        Registered c = e.checkpoint();
        if (!root.name().equals(c.root())) {
            return new Refusal(Outcome.Skip.OTHER_ROOT, "belongs to root " + c.root() + ", not " + root.name());
        }
        if (root.retention() == null && e.cause() != EvictionCause.MANUAL) {
            return new Refusal(Outcome.Skip.WATCH_ONLY_ROOT, "root " + root.name() + " has no retention; only a manual "
                    + "eviction removes from it");
        }
        for (Reason w : e.why()) {
            if (w.isProtection()) {
                return new Refusal(Outcome.Skip.PROTECTED, w.text());
            }
        }
        Refusal planned = stateRefusal(c);
        if (planned != null) {
            return planned;
        }
        if (row.isEmpty()) {
            return new Refusal(Outcome.Skip.NOT_REGISTERED, "no registry row for " + c.key());
        }
        Registered now = row.get();
        if (!now.state().present()) {
            return null; // the disk decides: gone is success, still there is refused
        }
        Refusal current = stateRefusal(now);
        if (current != null) {
            return current;
        }
        if (!Objects.equals(now.signature(), c.signature())) {
            return new Refusal(Outcome.Skip.CHANGED_SINCE_PLANNED, "the registry has seen a newer version since the plan");
        }
        return null;
    }

    private static Refusal stateRefusal(Registered c) {
        if (c.pinned()) {
            return new Refusal(Outcome.Skip.PINNED, c.pinReason());
        }
        if (c.state() == CheckpointState.WRITING) {
            return new Refusal(Outcome.Skip.WRITING, c.note());
        }
        if (c.state() == CheckpointState.CORRUPT) {
            return new Refusal(Outcome.Skip.CORRUPT, c.problems().isEmpty() ? c.note() : String.join("; ", c.problems()));
        }
        return null;
    }
}
