package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.policy.Reason;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One checkpoint a caller wants removed, why, and the retention reasons behind it.
 *
 * @param checkpoint the checkpoint as it was planned (its size, mtime and signature are compared
 *                   with the disk just before acting)
 * @param reason     {@value #POLICY}, {@value #QUOTA}, {@value #RUN_QUOTA}, {@value #DISK_PRESSURE} or {@value #MANUAL}
 * @param why        the decision's reasons (may be empty); the audit log records their words
 */
public record Eviction(Checkpoint checkpoint, String reason, List<Reason> why) {
    public static final String POLICY = "policy";
    public static final String QUOTA = "quota";
    public static final String RUN_QUOTA = "run_quota";
    public static final String DISK_PRESSURE = "disk_pressure";
    public static final String MANUAL = "manual";

    private static final Set<String> REASONS = Set.of(POLICY, QUOTA, RUN_QUOTA, DISK_PRESSURE, MANUAL);

    public Eviction {
        Objects.requireNonNull(checkpoint, "checkpoint");
        if (!REASONS.contains(reason)) {
            throw new IllegalArgumentException("eviction reason must be one of " + REASONS + ", not " + reason);
        }
        why = why == null ? List.of() : List.copyOf(why);
    }
}
