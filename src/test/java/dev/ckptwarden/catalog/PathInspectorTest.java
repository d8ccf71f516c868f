package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code inspect} of a path outside every configured root recognises it as a scan of its directory would. */
class PathInspectorTest {
    @TempDir
    Path tmp;

    /** Issue 14: Lightning's {@code val/loss} monitor writes a sub-directory; the run is the directory above it. */
    @Test
    void issue14LightningMetricSubDirectoryBelongsToTheRunAboveIt() throws IOException {
        Path file = TinyCheckpoints.torchZip(tmp.resolve("exp/epoch=0-step=100-val/loss=0.88.ckpt"), 0, 100L, true);
        PathInspector.Result r = new PathInspector(Layout.AUTO, NameParser.standard(), Duration.ofSeconds(10))
                .inspect(file, null, null, Instant.now());
        assertThat(r.isCheckpoint()).as(r.reason()).isTrue();
        assertThat(r.checkpoint().run()).isEqualTo("exp");
        assertThat(r.checkpoint().name()).isEqualTo("epoch=0-step=100-val/loss=0.88.ckpt");
        assertThat(r.checkpoint().metrics()).containsOnlyKeys("val/loss");
        assertThat(r.checkpoint().step()).isEqualTo(100L);
    }
}
