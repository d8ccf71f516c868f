package dev.ckptwarden.enforce;

import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.registry.Registered;

import java.util.List;
import java.util.Objects;

/**
 * One checkpoint a caller wants removed, why, and the retention reasons behind it.
 *
 * @param checkpoint the checkpoint as it was planned (its size, mtime and signature are compared
 *                   with the disk just before acting)
 * @param cause      policy, a quota, disk pressure or a person
 * @param why        the decision's reasons (may be empty); the audit log records their words
 */
public record Eviction(Registered checkpoint, EvictionCause cause, List<Reason> why) {

    public Eviction {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(cause, "cause");
        why = why == null ? List.of() : List.copyOf(why);
    }
}
