package dev.ckptwarden.export;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.OffloadException;
import dev.ckptwarden.offload.OffloadListener;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.watch.RootScan;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The agent's Prometheus metrics (SPEC "Metrics"), names exactly as the contract fixes them. Every
 * gauge reads an in-memory snapshot that {@link #update} replaces after each reconcile, so a scrape
 * never walks a disk or queries the registry. {@code run} labels are capped by
 * {@code agent.metrics_max_runs}: runs with corrupt checkpoints first, then the largest by bytes,
 * keep their own label (ties by root, then run id); the rest of each root are summed under
 * {@code run="_other"}, which carries only the summable series (checkpoint counts, bytes, corrupt).
 *
 * <p>Filesystem gauges ({@code mount} label: the mount point) are read in {@link #update} too, one
 * {@code statvfs} per local root. Eviction counters are registered at 0 for every root that may evict,
 * because {@code increase()} cannot see a counter whose first sample is already 1; a root dropped
 * from the configuration takes all its series along.
 *
 * <p>Thread-safety: {@link #update} and the setters may be called from any thread; scrapes run
 * concurrently with them.
 */
public final class AgentMetrics implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentMetrics.class);

    /** The {@code run} label value under which runs beyond the cap are summed. */
    public static final String OTHER_RUN = "_other";
    /** Content-Type of the Prometheus text exposition format. */
    public static final String TEXT_004 = "text/plain; version=0.0.4; charset=utf-8";
    /** Content-Type of the OpenMetrics text format. */
    public static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gcMetrics;
    private final GaugeFamily checkpoints;
    private final GaugeFamily checkpointBytes;
    private final GaugeFamily rootQuota;
    private final FilesystemGauges filesystems;
    private final GaugeFamily lastCheckpoint;
    private final GaugeFamily latestStep;
    private final GaugeFamily bestMetric;
    private final GaugeFamily pressureUnresolved;
    private final GaugeFamily corrupt;
    private final Timer reconcileDuration;
    private final AtomicReference<LongSupplier> watchEvents = new AtomicReference<>(() -> 0);
    private final AtomicReference<LongSupplier> watchOverflows = new AtomicReference<>(() -> 0);
    private volatile double reloadSuccessful = 1;
    private final Map<String, Boolean> pressure = new HashMap<>();
    private Set<String> roots = Set.of();
    private final EvictionMeters evictionMeters;

    /** Metrics of a build whose commit is not known (tests, a source tarball). */
    public AgentMetrics(String version) {
        this(version, "unknown");
    }

    /**
     * @param version  the build's version, the {@code version} label of {@code ckpt_warden_build_info}
     * @param revision the commit it was built from, its {@code revision} label
     */
    public AgentMetrics(String version, String revision) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        gcMetrics = new JvmGcMetrics();
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        // Not Micrometer's ProcessorMetrics, UptimeMetrics and FileDescriptorMetrics: their names
        // (process_cpu_time_ns_total, system_cpu_count, process_files_open_files) fail promtool or are not
        // the process_* names every Prometheus dashboard and alert expects.
        ProcessMetrics.builder().register(registry.getPrometheusRegistry());

        checkpoints = new GaugeFamily(registry, "ckpt_warden_checkpoints",
                "Checkpoints present on disk, by state (writing, complete, corrupt)");
        checkpointBytes = new GaugeFamily(registry, "ckpt_warden_checkpoint_bytes",
                "Bytes on disk held by a run's present checkpoints");
        rootQuota = new GaugeFamily(registry, "ckpt_warden_root_quota_bytes", "The root's quota.max_bytes, when set");
        filesystems = new FilesystemGauges(registry);
        lastCheckpoint = new GaugeFamily(registry, "ckpt_warden_run_last_checkpoint_timestamp_seconds",
                "Modification time of the run's newest complete checkpoint, Unix seconds");
        latestStep = new GaugeFamily(registry, "ckpt_warden_run_latest_step",
                "Highest training step among the run's complete checkpoints");
        bestMetric = new GaugeFamily(registry, "ckpt_warden_run_best_metric",
                "Best value of the run's keep_best metric among its complete checkpoints");
        pressureUnresolved = new GaugeFamily(registry, "ckpt_warden_pressure_unresolved",
                "1 when quota or disk pressure could not be relieved without touching protected checkpoints");
        corrupt = new GaugeFamily(registry, "ckpt_warden_corrupt_checkpoints",
                "Checkpoints that settled but fail their format check; removed only by hand");

        evictionMeters = new EvictionMeters(registry);
        FunctionCounter.builder("ckpt_warden_watch_events_total", watchEvents, s -> s.get().getAsLong())
                .description("File system watch events received").register(registry);
        FunctionCounter.builder("ckpt_warden_watch_overflows_total", watchOverflows, s -> s.get().getAsLong())
                .description("Watch event queue overflows (events lost; the next reconcile catches up)").register(registry);
        reconcileDuration = Timer.builder("ckpt_warden_reconcile_duration_seconds")
                .description("Duration of reconcile passes over all roots").register(registry);
        Gauge.builder("ckpt_warden_config_last_reload_successful", this, m -> m.reloadSuccessful)
                .description("1 when the last configuration reload was accepted, 0 when it was rejected").register(registry);
        // Micrometer's naming strips an "_info" suffix from gauges; the Prometheus client's Info keeps it.
        Info.builder().name("ckpt_warden_build_info").help("ckpt-warden build; the value is always 1")
                .labelNames("version", "revision").register(registry.getPrometheusRegistry())
                .setLabelValues(version, revision);
    }

    /** The Micrometer registry, for meters of other components. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /**
     * Replaces every gauge that describes the roots: per-run counts, bytes, progress and corrupt
     * checkpoints, quotas, and the filesystems of local roots (size and free space are read here, one
     * {@code statvfs} per root, not on scrape). Runs and roots absent from this call lose their series.
     *
     * @param cfg     the configuration in force: roots, quotas, watermarks, {@code metrics_max_runs}
     * @param present the checkpoints on disk now (history in other states is ignored)
     */
    public void update(Config cfg, Collection<Registered> present) {
        publish(cfg, () -> RunSummary.of(present, cfg));
    }

    /** {@link #update} from each run's summary, computed as a pass visited the runs: no list of every checkpoint. */
    public void updateFromRuns(Config cfg, Collection<RunSummary> runs) {
        publish(cfg, () -> List.copyOf(runs));
    }

    /**
     * {@link #update} from one sweep's scans: what each root holds now (an unreachable root's scan
     * carries the registry's view of it, so its series stay during an outage), summarised run by run.
     */
    public void updateFromScans(Config cfg, List<RootScan> scans) {
        publish(cfg, () -> scans.stream().flatMap(scan -> RunSummary.of(scan.present(), cfg).stream()).toList());
    }

    private synchronized void publish(Config cfg, Supplier<List<RunSummary>> summaries) {
        try {
            List<RunSummary> runs = new ArrayList<>(summaries.get());
            runs.sort(Comparator.comparing(RunSummary::root).thenComparing(RunSummary::run));
            Set<String> configured = new TreeSet<>();
            cfg.roots().forEach(r -> configured.add(r.name()));
            updateRuns(runs, configured, Math.max(0, cfg.agent().metricsMaxRuns()));
            updateRoots(cfg, configured);
            filesystems.update(cfg);
        } catch (RuntimeException e) {
            // Metrics must never break a sweep: the previous snapshot stays until the next update.
            log.warn("metrics update failed; previous values kept: {}", e.toString(), e);
        }
    }

    private void updateRuns(List<RunSummary> all, Set<String> configured, int maxRuns) {
        List<RunSummary> runs = new ArrayList<>();
        for (RunSummary r : all) {
            if (configured.contains(r.root())) {
                runs.add(r);
            }
        }
        List<RunSummary> ranked = new ArrayList<>(runs);
        ranked.sort(Comparator.comparing((RunSummary r) -> r.corrupt() > 0 ? 0 : 1)
                .thenComparing(Comparator.comparingLong(RunSummary::bytes).reversed())
                .thenComparing(RunSummary::root)
                .thenComparing(RunSummary::run));
        Set<RunSummary> labelled = new HashSet<>(ranked.subList(0, Math.min(maxRuns, ranked.size())));

        Map<Tags, Double> counts = new LinkedHashMap<>();
        Map<Tags, Double> bytes = new LinkedHashMap<>();
        Map<Tags, Double> corrupts = new LinkedHashMap<>();
        Map<Tags, Double> last = new LinkedHashMap<>();
        Map<Tags, Double> steps = new LinkedHashMap<>();
        Map<Tags, Double> best = new LinkedHashMap<>();
        Map<String, long[]> other = new TreeMap<>(); // root -> writing, complete, corrupt, bytes
        for (RunSummary r : runs) {
            if (!labelled.contains(r)) {
                long[] sum = other.computeIfAbsent(r.root(), k -> new long[4]);
                sum[0] += r.writing();
                sum[1] += r.complete();
                sum[2] += r.corrupt();
                sum[3] += r.bytes();
                continue;
            }
            Tags run = Tags.of("root", r.root(), "run", r.run());
            putCounts(counts, run, r.writing(), r.complete(), r.corrupt());
            bytes.put(run, (double) r.bytes());
            corrupts.put(run, (double) r.corrupt());
            if (r.lastCheckpoint() != null) {
                last.put(run, r.lastCheckpoint().toEpochMilli() / 1000.0);
            }
            if (r.latestStep() != null) {
                steps.put(run, (double) r.latestStep());
            }
            if (r.bestValue() != null) {
                best.put(run.and("metric", r.bestMetric()), r.bestValue());
            }
        }
        other.forEach((root, sum) -> {
            Tags run = Tags.of("root", root, "run", OTHER_RUN);
            putCounts(counts, run, sum[0], sum[1], sum[2]);
            bytes.put(run, (double) sum[3]);
            corrupts.put(run, (double) sum[2]);
        });
        checkpoints.set(counts);
        checkpointBytes.set(bytes);
        corrupt.set(corrupts);
        lastCheckpoint.set(last);
        latestStep.set(steps);
        bestMetric.set(best);
    }

    private static void putCounts(Map<Tags, Double> counts, Tags run, long writing, long complete, long corrupt) {
        counts.put(run.and("state", "writing"), (double) writing);
        counts.put(run.and("state", "complete"), (double) complete);
        counts.put(run.and("state", "corrupt"), (double) corrupt);
    }

    private void updateRoots(Config cfg, Set<String> configured) {
        roots = Set.copyOf(configured);
        Map<Tags, Double> quotas = new LinkedHashMap<>();
        for (RootConfig r : cfg.roots()) {
            if (r.quota().maxBytes() != null) {
                quotas.put(Tags.of("root", r.name()), (double) r.quota().maxBytes());
            }
        }
        rootQuota.set(quotas);
        for (RootConfig r : cfg.roots()) {
            evictionMeters.registerAtZero(r);
        }
        evictionMeters.retainRoots(configured);
        pressure.keySet().retainAll(configured);
        publishPressure();
    }

    /**
     * The filesystems seen by the last {@link #update}: mount label to the names of the roots on it.
     * A forecast computed for these roots is set with {@link #setFullForecast}.
     */
    public Map<String, List<String>> rootsByMount() {
        return filesystems.rootsByMount();
    }

    /**
     * Sets {@code ckpt_warden_filesystem_full_forecast_seconds} for a mount seen by the last update;
     * {@code Double.POSITIVE_INFINITY} (the default) means not growing. Unknown mounts are ignored.
     */
    public synchronized void setFullForecast(String mount, double seconds) {
        filesystems.setFullForecast(mount, seconds);
    }

    /**
     * Counts one finished eviction.
     *
     * @param action {@code delete} or {@code offload}: the {@code action} label
     * @param cause  its {@link EvictionCause#id()} is the {@code reason} label
     */
    public void recordEviction(String root, Action action, EvictionCause cause, long bytes) {
        evictionMeters.recordEviction(root, action, cause, bytes);
    }

    /** Counts one eviction that failed (nothing or not everything was removed). */
    public void recordEvictionFailure(String root) {
        evictionMeters.recordEvictionFailure(root);
    }

    /**
     * Feeds the offload metrics: {@value EvictionMeters#OFFLOADED_BYTES} (checkpoint bytes whose remote copy was
     * verified), {@value EvictionMeters#OFFLOAD_DURATION} (each copy, {@code outcome} verified or failed),
     * {@value EvictionMeters#OFFLOAD_FAILURES} (by {@code reason}, {@link OffloadException.Kind#id()}) and
     * {@value EvictionMeters#OFFLOAD_IN_FLIGHT} (copies running now), each by {@code root}.
     */
    public OffloadListener offloadListener() {
        return evictionMeters.offloadListener();
    }

    /** Whether the root's last enforcement pass left quota or disk pressure unresolved. */
    public synchronized void setPressureUnresolved(String root, boolean unresolved) {
        pressure.put(root, unresolved);
        publishPressure();
    }

    private void publishPressure() {
        Map<Tags, Double> out = new LinkedHashMap<>();
        Set<String> names = new TreeSet<>(roots);
        names.addAll(pressure.keySet());
        for (String root : names) {
            out.put(Tags.of("root", root), pressure.getOrDefault(root, false) ? 1.0 : 0.0);
        }
        pressureUnresolved.set(out);
    }

    /**
     * Reads the watcher's running totals on each scrape (two atomic reads, nothing more).
     *
     * @param events    total watch events received since start
     * @param overflows total watch queue overflows since start
     */
    public void bindWatcher(LongSupplier events, LongSupplier overflows) {
        watchEvents.set(events);
        watchOverflows.set(overflows);
    }

    /** Cluster mode: {@code ckpt_warden_lease_held} is 1 while this agent holds the enforcement lease. */
    public void bindLease(java.util.function.BooleanSupplier held) {
        // A strong reference: Micrometer holds a gauge's object weakly by default, and nothing else holds
        // this supplier (typically a fresh method reference), so the gauge read NaN after the first GC.
        Gauge.builder("ckpt_warden_lease_held", held, h -> h.getAsBoolean() ? 1 : 0)
                .description("1 while this agent holds cluster mode's enforcement lease (only the holder deletes)")
                .strongReference(true).register(registry);
    }

    /** {@code ckpt_warden_registry_up} is 1 while the registry database answers, 0 during an outage. */
    public void bindRegistry(RegistryHealth health) {
        Gauge.builder("ckpt_warden_registry_up", health, h -> h.up() ? 1 : 0)
                .description("1 while the registry database answers, 0 while it cannot be reached")
                .strongReference(true).register(registry);
    }

    /**
     * {@code ckpt_warden_deletions_held} is 1 while the registry holds every deletion: it was found empty
     * beside a state directory with history, or replaced under the running agent, until the user starts fresh.
     */
    public void bindDeletionHold(java.util.function.BooleanSupplier held) {
        Gauge.builder("ckpt_warden_deletions_held", held, h -> h.getAsBoolean() ? 1 : 0)
                .description("1 while nothing is deleted because the registry was lost or replaced"
                        + " (until started fresh with --fresh-registry)")
                .strongReference(true).register(registry);
    }

    /** Records one reconcile pass over all roots. */
    public void recordReconcile(Duration took) {
        reconcileDuration.record(took);
    }

    /** Whether the last configuration reload was accepted. */
    public void setConfigReloadSuccessful(boolean successful) {
        reloadSuccessful = successful ? 1 : 0;
    }

    /**
     * Writes the exposition to {@code out}: OpenMetrics when {@code accept} asks for
     * {@code application/openmetrics-text}, the Prometheus text format 0.0.4 otherwise.
     *
     * @return the Content-Type of what was written
     */
    public String scrape(String accept, OutputStream out) throws IOException {
        // Only these two: a protobuf Accept header (Prometheus with native histograms) also gets text.
        String type = wantsOpenMetrics(accept) ? OPENMETRICS : TEXT_004;
        registry.scrape(out, type);
        return type;
    }

    private static boolean wantsOpenMetrics(String accept) {
        return accept != null && java.util.Arrays.stream(accept.split(","))
                .anyMatch(part -> part.strip().toLowerCase(Locale.ROOT).startsWith("application/openmetrics-text"));
    }

    @Override
    public void close() {
        gcMetrics.close();
        registry.close();
    }
}
