package dev.ckptwarden.policy;

import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code keep_within: D}: checkpoints modified at most D before now; reason {@code "keep_within 24h"}.
 *
 * <p>A modification time after {@code now} (the clock was stepped back, or another host's clock is
 * ahead) counts as "now", never as older: a clock that jumps back can only make more checkpoints
 * recent, never make one evictable that was kept.
 */
final class KeepWithinRule implements RetentionRule {

    private final Duration window;

    KeepWithinRule(Duration window) {
        if (window.isNegative()) {
            throw new IllegalArgumentException("keep_within must not be negative: " + window);
        }
        this.window = window;
    }

    @Override
    public Map<Path, Reason> keeps(List<Registered> candidates, Instant now) {
        Map<Path, Reason> kept = new LinkedHashMap<>();
        Reason reason = Reason.keepWithin(window);
        for (Registered c : candidates) {
            Duration age = c.modified().isAfter(now) ? Duration.ZERO : Duration.between(c.modified(), now);
            if (age.compareTo(window) <= 0) {
                kept.put(c.path(), reason);
            }
        }
        return kept;
    }
}
