package dev.ckptwarden.export;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.OffloadException;
import dev.ckptwarden.offload.OffloadListener;
import dev.ckptwarden.policy.EvictionCause;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The eviction and offload series of {@link AgentMetrics}, by root: counters registered at 0 for every root that
 * may evict or offload, fed as evictions and copies finish, and removed with a root dropped from the configuration.
 * Safe from any thread.
 */
final class EvictionMeters {
    private static final String EVICTIONS = "ckpt_warden_evictions_total";
    private static final String EVICTED_BYTES = "ckpt_warden_evicted_bytes_total";
    private static final String EVICTION_FAILURES = "ckpt_warden_eviction_failures_total";
    /** Offload metrics: not in the contract's table yet, named in its style. */
    static final String OFFLOADED_BYTES = "ckpt_warden_offload_bytes_total";
    static final String OFFLOAD_DURATION = "ckpt_warden_offload_duration_seconds";
    static final String OFFLOAD_FAILURES = "ckpt_warden_offload_failures_total";
    static final String OFFLOAD_IN_FLIGHT = "ckpt_warden_offload_in_flight";

    private final PrometheusMeterRegistry registry;
    private final Map<String, AtomicInteger> offloadsInFlight =
            new ConcurrentHashMap<>();

    EvictionMeters(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers the root's counters at 0, as far as its retention and action let it evict or offload. */
    void registerAtZero(RootConfig r) {
        // Counters exist from the start at 0: increase() cannot see a series whose first sample is already 1.
        evictionFailures(r.name());
        if (r.retention() != null && r.action() != Action.REPORT) {
            // The causes the agent evicts for on its own (SPEC "Retention semantics"); manual evictions are the CLI's.
            for (EvictionCause cause : EvictionCause.PLANNED) {
                evictions(r.name(), r.action(), cause);
            }
            evictedBytes(r.name(), r.action());
        }
        if (r.retention() != null && r.action() == Action.OFFLOAD) {
            offloadedBytes(r.name());
            for (OffloadException.Kind kind : OffloadException.Kind.values()) {
                offloadFailures(r.name(), kind);
            }
            inFlight(r.name());
        }
    }

    /** Removes the series of every root not in {@code configured}. */
    void retainRoots(Set<String> configured) {
        // A root dropped from the configuration takes its counters along; if it comes back they restart at 0,
        // which rate() and increase() read as a counter reset.
        for (String name : List.of(EVICTIONS, EVICTED_BYTES, EVICTION_FAILURES, OFFLOADED_BYTES, OFFLOAD_DURATION,
                OFFLOAD_FAILURES, OFFLOAD_IN_FLIGHT)) {
            for (Meter m : registry.find(name).meters()) {
                if (!configured.contains(m.getId().getTag("root"))) {
                    registry.remove(m);
                }
            }
        }
        offloadsInFlight.keySet().retainAll(configured);
    }

    /** See {@link AgentMetrics#recordEviction}. */
    void recordEviction(String root, Action action, EvictionCause cause, long bytes) {
        evictions(root, action, cause).increment();
        evictedBytes(root, action).increment(bytes);
    }

    /** See {@link AgentMetrics#recordEvictionFailure}. */
    void recordEvictionFailure(String root) {
        evictionFailures(root).increment();
    }

    /** See {@link AgentMetrics#offloadListener}. */
    OffloadListener offloadListener() {
        return new OffloadListener() {
            @Override
            public void started(String root) {
                inFlight(root).incrementAndGet();
            }

            @Override
            public void verified(String root, long bytes, Duration took) {
                inFlight(root).decrementAndGet();
                offloadedBytes(root).increment(bytes);
                offloadDuration(root, "verified").record(took);
            }

            @Override
            public void failed(String root, OffloadException.Kind kind, Duration took) {
                inFlight(root).decrementAndGet();
                offloadFailures(root, kind).increment();
                offloadDuration(root, "failed").record(took);
            }
        };
    }

    private Counter evictions(String root, Action action, EvictionCause cause) {
        return Counter.builder(EVICTIONS).description("Checkpoints evicted, by action and reason")
                .tags("root", root, "action", action.id(), "reason", cause.id()).register(registry);
    }

    private Counter evictedBytes(String root, Action action) {
        return Counter.builder(EVICTED_BYTES).description("Bytes evicted, by action")
                .tags("root", root, "action", action.id()).register(registry);
    }

    private Counter evictionFailures(String root) {
        return Counter.builder(EVICTION_FAILURES).description("Evictions that failed")
                .tags("root", root).register(registry);
    }

    private Counter offloadedBytes(String root) {
        return Counter.builder(OFFLOADED_BYTES).description("Bytes of checkpoints copied to the offload target and verified")
                .tags("root", root).register(registry);
    }

    private Counter offloadFailures(String root, OffloadException.Kind kind) {
        return Counter.builder(OFFLOAD_FAILURES).description("Offload copies that failed (nothing local was removed), by reason")
                .tags("root", root, "reason", kind.id()).register(registry);
    }

    private Timer offloadDuration(String root, String outcome) {
        return Timer.builder(OFFLOAD_DURATION).description("Time to copy and verify one checkpoint at the offload target")
                .tags("root", root, "outcome", outcome).register(registry);
    }

    private AtomicInteger inFlight(String root) {
        return offloadsInFlight.computeIfAbsent(root, r -> {
            AtomicInteger n = new AtomicInteger();
            Gauge.builder(OFFLOAD_IN_FLIGHT, n, AtomicInteger::get)
                    .description("Checkpoint copies to the offload target running now").tags("root", r).register(registry);
            return n;
        });
    }
}
