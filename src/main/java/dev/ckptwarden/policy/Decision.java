package dev.ckptwarden.policy;

import dev.ckptwarden.catalog.Checkpoint;
import java.util.List;
import java.util.Objects;

/**
 * Retention's verdict on one checkpoint with every reason behind it: protection reasons first, then
 * the rules that keep it in rule order ({@code keep_last}, {@code keep_best}, {@code milestone},
 * {@code keep_within}), then {@code alias of ...}. An evicted checkpoint carries the single reason
 * "evictable: kept by no rule".
 */
public record Decision(Checkpoint checkpoint, Verdict verdict, List<String> reasons) {

    public Decision {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(verdict, "verdict");
        reasons = List.copyOf(reasons);
    }

    /** True when a protection reason keeps it: no configuration and no disk pressure may remove it. */
    public boolean isProtected() {
        return reasons.stream().anyMatch(Reasons::isProtection);
    }
}
