package dev.ckptwarden.policy;

import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code keep_last: N}: the N newest complete checkpoints; reason {@code "keep_last 1/3"}. */
final class KeepLastRule implements RetentionRule {

    private final int count;

    KeepLastRule(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("keep_last must not be negative: " + count);
        }
        this.count = count;
    }

    @Override
    public Map<Path, Reason> keeps(List<Registered> candidates, Instant now) {
        Map<Path, Reason> kept = new LinkedHashMap<>();
        for (int i = 0; i < Math.min(count, candidates.size()); i++) {
            kept.put(candidates.get(i).path(), Reason.keepLast(i + 1, count));
        }
        return kept;
    }
}
