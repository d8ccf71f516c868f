package dev.ckptwarden.policy;

import dev.ckptwarden.registry.Registered;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Retention's verdict on one checkpoint with every reason behind it: protection reasons first, then
 * the rules that keep it in rule order ({@code keep_last}, {@code keep_best}, {@code milestone},
 * {@code keep_within}), then {@code alias of ...}. An evicted checkpoint carries the single reason
 * "evictable: kept by no rule", and, while a configuration change's grace runs, when it goes.
 *
 * @param notBefore for an eviction a configuration change brought: the policy evicts it no earlier
 *                  than this (quota and disk pressure do not wait); null when it goes at once
 */
public record Decision(Registered checkpoint, Verdict verdict, List<Reason> reasons, Instant notBefore) {

    public Decision {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(verdict, "verdict");
        reasons = List.copyOf(reasons);
        if (notBefore != null && verdict != Verdict.EVICT) {
            throw new IllegalArgumentException("only an eviction can wait, not a " + verdict.id() + ": " + checkpoint.path());
        }
    }

    /** A decision acted on at once. */
    public Decision(Registered checkpoint, Verdict verdict, List<Reason> reasons) {
        this(checkpoint, verdict, reasons, null);
    }

    /** True when a protection reason keeps it: no configuration and no disk pressure may remove it. */
    public boolean isProtected() {
        return reasons.stream().anyMatch(Reason::isProtection);
    }

    /** True for an eviction retention makes now (not one waiting out a configuration change's grace). */
    public boolean evictsNow() {
        return verdict == Verdict.EVICT && notBefore == null;
    }
}
