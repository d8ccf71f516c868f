package dev.ckptwarden.watch;

import dev.ckptwarden.config.DurationText;
import dev.ckptwarden.config.RootConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which roots could not be scanned, why and since when: one log line when a root cannot be scanned (unmounted,
 * removed, its server down), again only when the reason changes, and one when it can be again. A root gone for a
 * day is two lines, not one per pass.
 */
final class RootReachability {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final Map<String, Episode> unreachable = new ConcurrentHashMap<>();

    private record Episode(String why, Instant since) {
    }

    void unreachable(RootConfig root, String where, String why, Instant now) {
        Episode was = unreachable.get(root.name());
        if (was == null || !was.why().equals(why)) {
            log.warn("{}root {} ({}) not scanned: {}", root.isLocal() ? "" : "remote ", root.name(), where, why);
            unreachable.put(root.name(), new Episode(why, was == null ? now : was.since()));
        }
    }

    void reachable(RootConfig root, String where, Instant now) {
        Episode was = unreachable.remove(root.name());
        if (was != null) {
            log.info("{}root {} ({}) can be scanned again after {}", root.isLocal() ? "" : "remote ", root.name(), where,
                    DurationText.format(Duration.between(was.since(), now).abs()));
        }
    }
}
