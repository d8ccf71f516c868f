package dev.ckptwarden.watch;

import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.LogLines;
import dev.ckptwarden.testing.MutableClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A root that is gone (an unmounted disk, a removed directory) is two log lines, not one per pass. */
class VanishedRootLogTest {
    @TempDir
    Path dir;

    @Test
    void aRootGoneForManyPassesIsOneWarningAndOneLineWhenItIsBack() throws Exception {
        Path root = dir.resolve("mnt/ckpt");
        RootConfig rc = RootConfig.watchOnly(root.toString());
        Config config = new Config(null, AgentSettings.defaults(dir.resolve("state")), List.of(rc));
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        try (SqliteRegistry registry = SqliteRegistry.open(dir.resolve("state"));
             Reconciler reconciler = new Reconciler(registry, clock);
             LogLines logs = LogLines.capture()) {
            for (int pass = 0; pass < 5; pass++) {
                assertThat(reconciler.reconcile(config, rc).reachable()).isFalse();
                clock.advance(Duration.ofMinutes(1));
            }
            Files.createDirectories(root);
            assertThat(reconciler.reconcile(config, rc).reachable()).isTrue();
            reconciler.reconcile(config, rc);

            assertThat(logs.lines()).filteredOn(l -> l.contains(root.toString())).containsExactly(
                    "WARN root " + rc.name() + " (" + root + ") not scanned: does not exist",
                    "INFO root " + rc.name() + " (" + root + ") can be scanned again after 5m");
        }
    }
}
