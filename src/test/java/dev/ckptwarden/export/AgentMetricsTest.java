package dev.ckptwarden.export;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.watch.RootScan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.ckptwarden.catalog.CheckpointState.COMPLETE;
import static dev.ckptwarden.catalog.CheckpointState.CORRUPT;
import static dev.ckptwarden.catalog.CheckpointState.WRITING;
import static dev.ckptwarden.export.Fixtures.ckpt;
import static dev.ckptwarden.export.Fixtures.withMetric;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class AgentMetricsTest {

    /** SPEC "Metrics": exposed name -> (type, label names). */
    static final Map<String, Map.Entry<String, Set<String>>> CONTRACT = new LinkedHashMap<>();

    static {
        contract("ckpt_warden_checkpoints", "gauge", "root", "run", "state");
        contract("ckpt_warden_checkpoint_bytes", "gauge", "root", "run");
        contract("ckpt_warden_root_quota_bytes", "gauge", "root");
        contract("ckpt_warden_filesystem_size_bytes", "gauge", "mount");
        contract("ckpt_warden_filesystem_free_bytes", "gauge", "mount");
        contract("ckpt_warden_filesystem_full_forecast_seconds", "gauge", "mount");
        contract("ckpt_warden_run_last_checkpoint_timestamp_seconds", "gauge", "root", "run");
        contract("ckpt_warden_run_latest_step", "gauge", "root", "run");
        contract("ckpt_warden_run_best_metric", "gauge", "root", "run", "metric");
        contract("ckpt_warden_evictions_total", "counter", "root", "action", "reason");
        contract("ckpt_warden_evicted_bytes_total", "counter", "root", "action");
        contract("ckpt_warden_eviction_failures_total", "counter", "root");
        contract("ckpt_warden_pressure_unresolved", "gauge", "root");
        contract("ckpt_warden_corrupt_checkpoints", "gauge", "root", "run");
        contract("ckpt_warden_watch_events_total", "counter");
        contract("ckpt_warden_watch_overflows_total", "counter");
        contract("ckpt_warden_reconcile_duration_seconds", "summary");
        contract("ckpt_warden_config_last_reload_successful", "gauge");
        contract("ckpt_warden_build_info", "gauge", "version", "revision");
        // Added beyond the contract's table, for the disk-below-watermark alert.
        contract("ckpt_warden_filesystem_min_free_bytes", "gauge", "mount");
    }

    private static void contract(String name, String type, String... labels) {
        CONTRACT.put(name, Map.entry(type, Set.of(labels)));
    }

    private final AgentMetrics metrics = new AgentMetrics("1.2.3-test");

    @AfterEach
    void close() {
        metrics.close();
    }

    private Exposition scrape() throws IOException {
        return Exposition.parse(text(null));
    }

    private String text(String accept) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.scrape(accept, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyContractMetricIsExposedWithItsNameTypeLabelsAndValue(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        RootConfig root = Fixtures.root("main", rootDir, new Retention(3, new KeepBest(2, "val_loss", KeepBest.Mode.MIN),
                null, null), new Quota(500L << 30, null), new DiskWatermark(null, 0.10));
        Config cfg = Fixtures.config(tmp.resolve("state"), 500, root);
        Registered s100 = withMetric(ckpt(rootDir, "main", "bert", 100, 1000, COMPLETE), "val_loss", 0.5);
        Registered s200 = withMetric(ckpt(rootDir, "main", "bert", 200, 2000, COMPLETE), "val_loss", 0.25);
        List<Registered> present = List.of(s100, s200,
                withMetric(ckpt(rootDir, "main", "bert", 300, 3000, WRITING), "val_loss", 0.01),
                ckpt(rootDir, "main", "bert", 250, 500, CORRUPT),
                Fixtures.lastAlias(s200));

        metrics.update(cfg, present);
        String mount = MountUsage.of(rootDir).mount();
        metrics.setFullForecast(mount, 7200);
        metrics.recordEviction("main", Action.DELETE, EvictionCause.POLICY, 4096);
        metrics.recordEviction("main", Action.DELETE, EvictionCause.POLICY, 1024);
        metrics.recordEvictionFailure("main");
        metrics.setPressureUnresolved("main", true);
        metrics.bindWatcher(() -> 42, () -> 2);
        metrics.recordReconcile(Duration.ofMillis(1500));
        metrics.recordReconcile(Duration.ofMillis(500));
        metrics.setConfigReloadSuccessful(false);

        Exposition e = scrape();
        CONTRACT.forEach((name, typeAndLabels) -> {
            assertThat(e.types).as("TYPE of " + name).containsEntry(name, typeAndLabels.getKey());
            String sampleName = typeAndLabels.getKey().equals("summary") ? name + "_count" : name;
            assertThat(e.samples(sampleName)).as("samples of " + sampleName).isNotEmpty();
            assertThat(e.labelSets(sampleName)).as("labels of " + sampleName).containsExactly(typeAndLabels.getValue());
        });

        Map<String, String> bert = Map.of("root", "main", "run", "bert");
        assertThat(e.value("ckpt_warden_checkpoints", with(bert, "state", "complete"))).isEqualTo(3); // alias copy counts
        assertThat(e.value("ckpt_warden_checkpoints", with(bert, "state", "writing"))).isEqualTo(1);
        assertThat(e.value("ckpt_warden_checkpoints", with(bert, "state", "corrupt"))).isEqualTo(1);
        assertThat(e.value("ckpt_warden_checkpoint_bytes", bert)).isEqualTo(8500);
        assertThat(e.value("ckpt_warden_corrupt_checkpoints", bert)).isEqualTo(1);
        // Progress is complete, non-alias checkpoints only: the writing step 300 and corrupt 250 do not count.
        assertThat(e.value("ckpt_warden_run_latest_step", bert)).isEqualTo(200);
        assertThat(e.value("ckpt_warden_run_last_checkpoint_timestamp_seconds", bert))
                .isEqualTo(Fixtures.T0.plusSeconds(200).getEpochSecond());
        assertThat(e.value("ckpt_warden_run_best_metric", with(bert, "metric", "val_loss"))).isEqualTo(0.25);
        assertThat(e.value("ckpt_warden_root_quota_bytes", Map.of("root", "main"))).isEqualTo(500.0 * (1L << 30));
        double size = e.value("ckpt_warden_filesystem_size_bytes", Map.of("mount", mount));
        assertThat(size).isEqualTo(Files.getFileStore(rootDir).getTotalSpace());
        assertThat(e.value("ckpt_warden_filesystem_free_bytes", Map.of("mount", mount))).isPositive().isLessThanOrEqualTo(size);
        assertThat(e.value("ckpt_warden_filesystem_min_free_bytes", Map.of("mount", mount))).isEqualTo(Math.ceil(0.10 * size));
        assertThat(e.value("ckpt_warden_filesystem_full_forecast_seconds", Map.of("mount", mount))).isEqualTo(7200);
        assertThat(e.value("ckpt_warden_evictions_total", Map.of("root", "main", "action", "delete", "reason", "policy")))
                .isEqualTo(2);
        assertThat(e.value("ckpt_warden_evicted_bytes_total", Map.of("root", "main", "action", "delete"))).isEqualTo(5120);
        assertThat(e.value("ckpt_warden_eviction_failures_total", Map.of("root", "main"))).isEqualTo(1);
        assertThat(e.value("ckpt_warden_pressure_unresolved", Map.of("root", "main"))).isEqualTo(1);
        assertThat(e.value("ckpt_warden_watch_events_total", Map.of())).isEqualTo(42);
        assertThat(e.value("ckpt_warden_watch_overflows_total", Map.of())).isEqualTo(2);
        assertThat(e.value("ckpt_warden_reconcile_duration_seconds_count", Map.of())).isEqualTo(2);
        assertThat(e.value("ckpt_warden_reconcile_duration_seconds_sum", Map.of())).isCloseTo(2.0, within(1e-9));
        assertThat(e.value("ckpt_warden_config_last_reload_successful", Map.of())).isEqualTo(0);
        assertThat(e.value("ckpt_warden_build_info", Map.of("version", "1.2.3-test"))).isEqualTo(1);
        // Micrometer's JVM binders, and the standard process metrics under their Prometheus names.
        assertThat(e.types).containsKeys("jvm_memory_used_bytes", "jvm_gc_live_data_size_bytes", "jvm_threads_live_threads",
                "process_cpu_seconds_total", "process_start_time_seconds", "jvm_classes_loaded_classes", "process_open_fds",
                "process_resident_memory_bytes");
    }

    @Test
    void forecastIsPlusInfUntilSetAndReloadGaugeStartsAtOne(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        metrics.update(Fixtures.config(tmp, 500, Fixtures.root("r", rootDir, null, Quota.NONE, DiskWatermark.NONE)), List.of());
        String mount = MountUsage.of(rootDir).mount();
        assertThat(metrics.rootsByMount()).containsEntry(mount, List.of("r"));

        Exposition e = scrape();
        assertThat(e.value("ckpt_warden_filesystem_full_forecast_seconds", Map.of("mount", mount)))
                .isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(e.value("ckpt_warden_config_last_reload_successful", Map.of())).isEqualTo(1);
        assertThat(e.value("ckpt_warden_pressure_unresolved", Map.of("root", "r"))).isEqualTo(0);
        // No watermark and no quota configured: no series rather than a misleading 0.
        assertThat(e.samples("ckpt_warden_filesystem_min_free_bytes")).isEmpty();
        assertThat(e.samples("ckpt_warden_root_quota_bytes")).isEmpty();

        metrics.setFullForecast("/no/such/mount", 10);
        metrics.setFullForecast(mount, 3600);
        e = scrape();
        assertThat(e.value("ckpt_warden_filesystem_full_forecast_seconds", Map.of("mount", mount))).isEqualTo(3600);
        assertThat(e.has("ckpt_warden_filesystem_full_forecast_seconds", Map.of("mount", "/no/such/mount"))).isFalse();
    }

    @Test
    void runsBeyondTheCapAreSummedUnderOtherAndCorruptRunsKeepTheirLabel(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        Config cfg = Fixtures.config(tmp, 2, Fixtures.root("r", rootDir, null, Quota.NONE, DiskWatermark.NONE));
        List<Registered> present = new ArrayList<>();
        present.add(ckpt(rootDir, "r", "huge", 100, 9000, COMPLETE));
        present.add(ckpt(rootDir, "r", "big", 100, 5000, COMPLETE));
        present.add(ckpt(rootDir, "r", "small", 100, 300, COMPLETE));
        present.add(ckpt(rootDir, "r", "small", 200, 300, WRITING));
        present.add(ckpt(rootDir, "r", "tiny-broken", 100, 10, CORRUPT));

        metrics.update(cfg, present);
        Exposition e = scrape();

        Set<String> runs = new java.util.TreeSet<>();
        e.samples("ckpt_warden_checkpoint_bytes").forEach(s -> runs.add(s.labels().get("run")));
        // Cap 2: the corrupt run first (an alert must name it), then the largest; big and small go to _other.
        assertThat(runs).containsExactly("_other", "huge", "tiny-broken");
        Map<String, String> other = Map.of("root", "r", "run", "_other");
        assertThat(e.value("ckpt_warden_checkpoint_bytes", other)).isEqualTo(5600);
        assertThat(e.value("ckpt_warden_checkpoints", with(other, "state", "complete"))).isEqualTo(2);
        assertThat(e.value("ckpt_warden_checkpoints", with(other, "state", "writing"))).isEqualTo(1);
        assertThat(e.value("ckpt_warden_corrupt_checkpoints", other)).isEqualTo(0);
        // Progress does not add up across runs: _other has no step or timestamp series.
        assertThat(e.has("ckpt_warden_run_latest_step", other)).isFalse();
        assertThat(e.has("ckpt_warden_run_last_checkpoint_timestamp_seconds", other)).isFalse();
        assertThat(e.value("ckpt_warden_corrupt_checkpoints", Map.of("root", "r", "run", "tiny-broken"))).isEqualTo(1);
    }

    @Test
    void seriesOfARunThatDisappearsAreRemoved(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        RootConfig root = Fixtures.root("r", rootDir, new Retention(1, new KeepBest(1, "loss", KeepBest.Mode.MAX), null, null),
                Quota.NONE, DiskWatermark.NONE);
        Config cfg = Fixtures.config(tmp, 500, root);
        Registered keep = withMetric(ckpt(rootDir, "r", "stays", 100, 100, COMPLETE), "loss", 1);
        Registered gone = withMetric(ckpt(rootDir, "r", "goes", 100, 100, COMPLETE), "loss", 2);
        metrics.update(cfg, List.of(keep, gone));
        Map<String, String> goes = Map.of("root", "r", "run", "goes");
        Exposition before = scrape();
        for (String name : List.of("ckpt_warden_checkpoints", "ckpt_warden_checkpoint_bytes", "ckpt_warden_corrupt_checkpoints",
                "ckpt_warden_run_latest_step", "ckpt_warden_run_last_checkpoint_timestamp_seconds",
                "ckpt_warden_run_best_metric")) {
            assertThat(before.has(name, goes)).as(name + " before").isTrue();
        }

        metrics.update(cfg, List.of(keep));
        String after = text(null);
        assertThat(after).doesNotContain("run=\"goes\"").contains("run=\"stays\"");

        // A root removed from the configuration takes its per-root series too.
        metrics.update(Fixtures.config(tmp, 500), List.of(keep));
        assertThat(text(null)).doesNotContain("root=\"r\"");
    }

    @Test
    void evictionCountersExistAtZeroSoThatTheFirstFailureShowsInIncrease(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        Config cfg = Fixtures.config(tmp, 500,
                Fixtures.root("evicting", rootDir, new Retention(2, null, null, null), Quota.NONE, DiskWatermark.NONE),
                Fixtures.root("watching", rootDir, null, Quota.NONE, DiskWatermark.NONE));
        metrics.update(cfg, List.of());
        Exposition e = scrape();
        assertThat(e.value("ckpt_warden_eviction_failures_total", Map.of("root", "evicting"))).isZero();
        assertThat(e.value("ckpt_warden_eviction_failures_total", Map.of("root", "watching"))).isZero();
        for (String reason : List.of("policy", "quota", "run_quota", "disk_pressure")) {
            assertThat(e.value("ckpt_warden_evictions_total", Map.of("root", "evicting", "action", "delete", "reason", reason)))
                    .isZero();
        }
        assertThat(e.value("ckpt_warden_evicted_bytes_total", Map.of("root", "evicting", "action", "delete"))).isZero();
        // A watch-only root never evicts: no eviction series to clutter dashboards.
        assertThat(e.has("ckpt_warden_evictions_total", Map.of("root", "watching"))).isFalse();
    }

    @Test
    void scrapesReadTheSnapshotAndOnlyUpdateReadsTheDisk(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        Config cfg = Fixtures.config(tmp, 500, Fixtures.root("r", rootDir, null, Quota.NONE, DiskWatermark.NONE));
        Registered c = ckpt(rootDir, "r", "bert", 100, 100, COMPLETE);
        metrics.updateFromScans(cfg, List.of(new RootScan("r", rootDir, true, List.of(c), List.of(), 1, 0, 1, Duration.ZERO)));
        String mount = MountUsage.of(rootDir).mount();
        double free = scrape().value("ckpt_warden_filesystem_free_bytes", Map.of("mount", mount));
        assertThat(scrape().value("ckpt_warden_checkpoint_bytes", Map.of("root", "r", "run", "bert"))).isEqualTo(100);

        // 8 MiB of real data: the filesystem's free space changes, the scraped value must not until update().
        byte[] data = new byte[8 << 20];
        Arrays.fill(data, (byte) 7);
        Files.write(Files.createDirectories(rootDir.resolve("bert")).resolve("blob"), data, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, StandardOpenOption.SYNC);
        assertThat(scrape().value("ckpt_warden_filesystem_free_bytes", Map.of("mount", mount))).isEqualTo(free);

        metrics.update(cfg, List.of(c));
        assertThat(scrape().value("ckpt_warden_filesystem_free_bytes", Map.of("mount", mount))).isNotEqualTo(free);
    }

    @Test
    void openMetricsWhenTheAcceptHeaderAsksForIt() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String type = metrics.scrape("application/openmetrics-text;version=1.0.0,text/plain;q=0.5", out);
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(type).startsWith("application/openmetrics-text");
        assertThat(text).endsWith("# EOF\n").contains("ckpt_warden_build_info{revision=\"unknown\",version=\"1.2.3-test\"} 1");
        assertThat(Exposition.parse(text).types).containsEntry("ckpt_warden_build", "info")
                .containsEntry("ckpt_warden_watch_events", "counter");

        out.reset();
        assertThat(metrics.scrape("text/plain", out)).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
        assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("# EOF");
    }

    /**
     * Issue 15: {@code ckpt_warden_lease_held} read NaN after the first collection. Micrometer keeps only a
     * weak reference to a gauge's object, and the lease gauge's was a method reference nothing else held;
     * the per-run gauges re-registered on every update had the same flaw.
     */
    @Test
    void everyAgentSeriesStillHasANumberAfterGarbageCollection(@TempDir Path tmp) throws IOException {
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        RootConfig root = Fixtures.root("main", rootDir, new Retention(3, new KeepBest(2, "val_loss", KeepBest.Mode.MIN),
                null, null), new Quota(500L << 30, null), new DiskWatermark(null, 0.10));
        Config cfg = Fixtures.config(tmp.resolve("state"), 500, root);
        metrics.bindLease(new java.util.concurrent.atomic.AtomicBoolean(true)::get);
        metrics.bindRegistry(new RegistryHealth(java.time.Clock.systemUTC())); // held by nothing but the gauge
        metrics.bindDeletionHold(new java.util.concurrent.atomic.AtomicBoolean(false)::get);
        metrics.bindWatcher(() -> 3, () -> 0);
        metrics.offloadListener().started("main");
        // Two updates with equal but new label sets: the second must not leave series whose object is gone.
        for (int pass = 0; pass < 2; pass++) {
            metrics.update(cfg, List.of(withMetric(ckpt(rootDir, "main", "bert", 100, 1000, COMPLETE), "val_loss", 0.5),
                    ckpt(rootDir, "main", "bert", 250, 500, CORRUPT)));
        }
        metrics.setFullForecast(MountUsage.of(rootDir).mount(), 7200);
        metrics.recordReconcile(Duration.ofMillis(20));

        collectGarbage();

        Exposition e = scrape();
        assertThat(e.samples).filteredOn(s -> Double.isNaN(s.value())).as("series that read NaN").isEmpty();
        assertThat(e.value("ckpt_warden_lease_held", Map.of())).isEqualTo(1);
        assertThat(e.value("ckpt_warden_registry_up", Map.of())).isEqualTo(1);
        assertThat(e.value("ckpt_warden_deletions_held", Map.of())).isEqualTo(0);
        for (String name : CONTRACT.keySet()) {
            String sample = CONTRACT.get(name).getKey().equals("summary") ? name + "_count" : name;
            assertThat(e.samples(sample)).as(sample).isNotEmpty();
        }
    }

    /** Runs collections until a weakly reachable sentinel is gone: proof that at least one really happened. */
    static void collectGarbage() {
        java.lang.ref.WeakReference<Object> sentinel = new java.lang.ref.WeakReference<>(new Object());
        for (int i = 0; i < 50 && sentinel.get() != null; i++) {
            System.gc();
        }
        assertThat(sentinel.get()).as("a garbage collection ran").isNull();
        System.gc(); // and once more, for weak references cleared in the same cycle as the sentinel
    }

    /**
     * Issue 15: {@code promtool check metrics} rejected the JVM process metrics Micrometer names its own way
     * ({@code process_cpu_time_ns_total}, {@code system_cpu_count}). Every series must pass it silently.
     */
    @Test
    void everyExportedSeriesPassesPromtoolCheckMetrics(@TempDir Path tmp) throws Exception {
        Path promtool = Path.of("/usr/bin/promtool");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(promtool),
                "promtool not installed (Debian package 'prometheus'): the exposition is not checked here");
        Path rootDir = Files.createDirectories(tmp.resolve("ckpts"));
        RootConfig root = Fixtures.root("main", rootDir, new Retention(3, new KeepBest(2, "val_loss", KeepBest.Mode.MIN),
                null, null), new Quota(500L << 30, null), new DiskWatermark(null, 0.10));
        metrics.update(Fixtures.config(tmp.resolve("state"), 500, root),
                List.of(withMetric(ckpt(rootDir, "main", "bert", 100, 1000, COMPLETE), "val_loss", 0.5)));
        metrics.bindLease(() -> false);
        metrics.recordReconcile(Duration.ofMillis(20));
        metrics.offloadListener().failed("main", dev.ckptwarden.offload.OffloadException.Kind.values()[0], Duration.ofSeconds(1));
        Path exposition = tmp.resolve("metrics.txt");
        Files.writeString(exposition, text(null));

        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true)
                .redirectInput(exposition.toFile()).start();
        String complaints = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("promtool exit status; it said:%n%s", complaints).isZero();
        assertThat(complaints).as("promtool output").isEmpty();

        Exposition e = Exposition.parse(Files.readString(exposition));
        assertThat(e.types).containsEntry("process_cpu_seconds_total", "counter")
                .containsEntry("process_resident_memory_bytes", "gauge")
                .containsEntry("process_start_time_seconds", "gauge")
                .containsEntry("process_open_fds", "gauge");
        assertThat(e.value("process_resident_memory_bytes", Map.of())).isPositive();
        assertThat(e.value("process_open_fds", Map.of())).isPositive();
        assertThat(e.value("process_start_time_seconds", Map.of()))
                .isCloseTo(java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime() / 1000.0, within(1.0));
        assertThat(e.value("ckpt_warden_build_info", Map.of("version", "1.2.3-test"))).isEqualTo(1);
        assertThat(e.labelSets("ckpt_warden_build_info")).containsExactly(Set.of("version", "revision"));
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(base);
        m.put(key, value);
        return m;
    }
}
