package dev.ckptwarden.export;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Offload;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.OffloadException;
import dev.ckptwarden.offload.OffloadListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The offload metrics: bytes, duration, failures by reason and copies in flight, per root. */
class AgentOffloadMetricsTest {
    private final AgentMetrics metrics = new AgentMetrics("test");

    @AfterEach
    void close() {
        metrics.close();
    }

    private Exposition scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape(null, out);
        return Exposition.parse(out.toString(StandardCharsets.UTF_8));
    }

    private static RootConfig offloadRoot(String name, Path dir) {
        return new RootConfig(name, dir.toString(), Layout.AUTO, List.of(), new Retention(1, null, null, null), Quota.NONE,
                DiskWatermark.NONE, Action.OFFLOAD, new Offload("sftp://archive/ckpt", "sha256"), List.of());
    }

    @Test
    void offloadSeriesStartAtZeroForOffloadRootsOnly(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpts"));
        Config cfg = Fixtures.config(tmp, 500, offloadRoot("archive", dir),
                Fixtures.root("deleting", dir, new Retention(1, null, null, null), Quota.NONE, DiskWatermark.NONE));
        metrics.update(cfg, List.of());
        Exposition e = scrape();
        assertThat(e.value("ckpt_warden_offload_bytes_total", Map.of("root", "archive"))).isZero();
        assertThat(e.value("ckpt_warden_offload_in_flight", Map.of("root", "archive"))).isZero();
        for (OffloadException.Kind k : OffloadException.Kind.values()) {
            assertThat(e.value("ckpt_warden_offload_failures_total", Map.of("root", "archive", "reason", k.id()))).isZero();
        }
        assertThat(e.has("ckpt_warden_offload_bytes_total", Map.of("root", "deleting"))).isFalse();
    }

    @Test
    void copiesAreCountedAsTheyStartSucceedAndFail(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpts"));
        metrics.update(Fixtures.config(tmp, 500, offloadRoot("archive", dir)), List.of());
        OffloadListener l = metrics.offloadListener();

        l.started("archive");
        l.started("archive");
        assertThat(scrape().value("ckpt_warden_offload_in_flight", Map.of("root", "archive"))).isEqualTo(2);

        l.verified("archive", 7_400_000_000L, Duration.ofSeconds(37));
        l.failed("archive", OffloadException.Kind.UNREACHABLE, Duration.ofSeconds(30));
        Exposition e = scrape();
        assertThat(e.value("ckpt_warden_offload_in_flight", Map.of("root", "archive"))).isZero();
        assertThat(e.value("ckpt_warden_offload_bytes_total", Map.of("root", "archive"))).isEqualTo(7.4e9);
        assertThat(e.value("ckpt_warden_offload_failures_total", Map.of("root", "archive", "reason", "unreachable")))
                .isEqualTo(1);
        assertThat(e.value("ckpt_warden_offload_duration_seconds_sum", Map.of("root", "archive", "outcome", "verified")))
                .isEqualTo(37);
        assertThat(e.value("ckpt_warden_offload_duration_seconds_count", Map.of("root", "archive", "outcome", "failed")))
                .isEqualTo(1);
    }

    @Test
    void aRootDroppedFromTheConfigurationTakesItsOffloadSeries(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpts"));
        metrics.update(Fixtures.config(tmp, 500, offloadRoot("archive", dir)), List.of());
        metrics.offloadListener().verified("archive", 10, Duration.ofSeconds(1));
        metrics.update(Fixtures.config(tmp, 500), List.of());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape(null, out);
        assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("ckpt_warden_offload_");
    }
}
