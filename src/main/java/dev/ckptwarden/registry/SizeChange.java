package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.CheckpointState;

import java.time.Instant;
import java.util.List;

/**
 * A change of the bytes a root holds: a checkpoint's bytes arriving when it was first seen, or leaving
 * when it was deleted or offloaded. The compact form of the registry's history a growth forecast needs.
 */
public record SizeChange(Instant at, long deltaBytes) {

    /** The changes before a window as their sum, and how many fall inside it. */
    public record Totals(long bytesBefore, long inWindow) {
    }

    /** Adds a checkpoint's changes to {@code out}: none for an alias or a row never seen. */
    static void of(Registered c, List<SizeChange> out) {
        of(c.aliasOf() == null, c.firstSeen(), c.bytes(), c.state(), c.stateSince(), out);
    }

    static void of(boolean own, Instant firstSeen, long bytes, CheckpointState state, Instant stateSince,
                   List<SizeChange> out) {
        if (firstSeen != null && own) {
            out.add(new SizeChange(firstSeen, bytes));
            if ((state == CheckpointState.DELETED || state == CheckpointState.OFFLOADED) && stateSince != null) {
                out.add(new SizeChange(stateSince, -bytes));
            }
        }
    }
}
