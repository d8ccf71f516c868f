package dev.ckptwarden.export;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A scrape must stay cheap with a full registry: 500 runs of 20 checkpoints each (the default
 * {@code metrics_max_runs}, so every run has its own series). The figure is printed; the assertion is
 * only a generous bound so a slow shared machine does not fail the build.
 */
class ScrapeTimeTest {

    @Test
    void scrapeOf500RunsTimes20CheckpointsIsFast(@TempDir Path tmp) throws Exception {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        Config cfg = Fixtures.config(tmp.resolve("state"), 500, Fixtures.root("main", rootDir,
                new Retention(3, new KeepBest(3, "val_loss", KeepBest.Mode.MIN), null, null), Quota.NONE, DiskWatermark.NONE));
        List<Registered> all = new ArrayList<>();
        for (int run = 0; run < 500; run++) {
            for (int i = 1; i <= 20; i++) {
                CheckpointState state = i == 20 ? CheckpointState.WRITING : CheckpointState.COMPLETE;
                all.add(Fixtures.withMetric(Fixtures.ckpt(rootDir, "main", "exp/run-" + run, i * 500L, 7_400_000_000L,
                        state), "val_loss", 1.0 / i));
            }
        }
        try (SqliteRegistry registry = SqliteRegistry.open(tmp.resolve("state"));
             AgentMetrics metrics = new AgentMetrics("perf");
             HttpApi api = new HttpApi(new InetSocketAddress("127.0.0.1", 0), metrics, registry, () -> cfg,
                     () -> new LoopHealth(true, true, true), new RegistryHealth(Clock.systemUTC()), Clock.systemUTC(),
                     new dev.ckptwarden.watch.Reconciler(registry, Clock.systemUTC()))) {
            registry.upsert(all);
            long t0 = System.nanoTime();
            List<Registered> present = registry.list(null, null, false);
            long listMs = (System.nanoTime() - t0) / 1_000_000;
            t0 = System.nanoTime();
            metrics.update(cfg, present);
            long firstUpdateMs = (System.nanoTime() - t0) / 1_000_000;
            t0 = System.nanoTime();
            metrics.update(cfg, present); // what every later sweep pays: the series exist already
            long updateMs = (System.nanoTime() - t0) / 1_000_000;
            api.start();

            HttpClient client = HttpClient.newHttpClient();
            HttpRequest scrape = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/metrics")).build();
            int bytes = 0;
            for (int i = 0; i < 10; i++) { // warm-up: JIT, connection
                bytes = client.send(scrape, HttpResponse.BodyHandlers.ofString()).body().length();
            }
            long[] ms = new long[30];
            String body = null;
            for (int i = 0; i < ms.length; i++) {
                long s = System.nanoTime();
                HttpResponse<String> r = client.send(scrape, HttpResponse.BodyHandlers.ofString());
                ms[i] = (System.nanoTime() - s) / 1_000;
                assertThat(r.statusCode()).isEqualTo(200);
                body = r.body();
            }
            Arrays.sort(ms);
            Exposition e = Exposition.parse(body);
            assertThat(e.samples("ckpt_warden_checkpoint_bytes")).hasSize(500);
            assertThat(e.samples("ckpt_warden_checkpoints")).hasSize(1500);
            System.out.printf("scrape of 500 runs x 20 checkpoints: median %.1f ms, max %.1f ms, %d KiB, %d series;"
                            + " registry.list %d ms, first update() %d ms, next update() %d ms%n", ms[ms.length / 2] / 1000.0,
                    ms[ms.length - 1] / 1000.0, bytes / 1024, e.samples.size(), listMs, firstUpdateMs, updateMs);
            assertThat(ms[ms.length / 2]).as("median scrape, microseconds (goal 50 ms)").isLessThan(1_000_000);
        }
    }
}
