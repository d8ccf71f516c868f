package dev.ckptwarden.policy;

import dev.ckptwarden.registry.Registered;
import java.util.Objects;

/**
 * A checkpoint that quota or free-space pressure may remove, and the tier it comes from:
 * {@value #EVICTABLE}, {@value #KEEP_WITHIN}, {@value #MILESTONE}, {@value #KEEP_LAST} or {@value #KEEP_BEST}
 * (least valuable first).
 */
public record PressureCandidate(Registered checkpoint, String tier) {

    public static final String EVICTABLE = "evictable";
    public static final String KEEP_WITHIN = "keep_within";
    public static final String MILESTONE = "milestone";
    public static final String KEEP_LAST = "keep_last";
    public static final String KEEP_BEST = "keep_best";

    public PressureCandidate {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(tier, "tier");
    }
}
