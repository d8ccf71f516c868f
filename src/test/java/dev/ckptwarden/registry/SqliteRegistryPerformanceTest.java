package dev.ckptwarden.registry;


import dev.ckptwarden.catalog.CheckpointState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static dev.ckptwarden.registry.Checkpoints.T0;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Times the registry at the size of a busy machine: 20,000 checkpoints in one root. Prints the figures;
 * asserts only bounds generous enough for a loaded 2-core CI machine, so that a regression by an order
 * of magnitude (a statement per row outside the transaction, a missing index) still fails.
 */
class SqliteRegistryPerformanceTest {

    private static final int COUNT = 20_000;

    @TempDir
    Path stateDir;

    private static List<Registered> checkpoints(long bytes) {
        List<Registered> all = new ArrayList<>(COUNT);
        for (int i = 0; i < COUNT; i++) {
            String run = "sweep/lr-" + (i % 40);
            long step = (i / 40 + 1) * 500L;
            String name = "epoch=" + (i / 400) + "-step=" + step + ".ckpt";
            Registered c = Checkpoints.complete("/data/ckpt", run, name, step);
            c = Checkpoints.withMetrics(c, Map.of("val_loss", 1.0 / (i + 1), "train_loss", i % 97 == 0 ? Double.NaN : 0.5));
            all.add(Checkpoints.withBytes(Checkpoints.withOrdering(c, i / 400, step, T0.plusSeconds(i)), bytes));
        }
        return all;
    }

    private static <T> T timed(String what, Duration bound, Supplier<T> work) {
        long start = System.nanoTime();
        T result = work.get();
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        System.out.printf("registry performance: %-34s %6d ms%n", what, took.toMillis());
        assertThat(took).as(what).isLessThan(bound);
        return result;
    }

    @Test
    void twentyThousandCheckpoints() {
        List<Registered> first = checkpoints(7_400_000_000L);
        List<Registered> rescan = checkpoints(7_400_000_001L);
        List<String> paths = first.stream().map(Registered::key).toList();
        try (SqliteRegistry registry = SqliteRegistry.open(stateDir)) {
            timed("upsert 20k new", Duration.ofSeconds(15), () -> {
                registry.upsert(first);
                return null;
            });
            timed("upsert 20k existing (rescan)", Duration.ofSeconds(15), () -> {
                registry.upsert(rescan);
                return null;
            });
            Map<String, Registered> present = timed("present(root) of 20k, first read", Duration.ofSeconds(10),
                    () -> registry.present("/data/ckpt"));
            timed("present(root) of 20k, again", Duration.ofSeconds(10), () -> registry.present("/data/ckpt"));
            List<Registered> listed = timed("list all 20k, first", Duration.ofSeconds(10),
                    () -> registry.list(null, null, true));
            timed("list all 20k, again", Duration.ofSeconds(10), () -> registry.list(null, null, true));
            List<Registered> oneRun = timed("list one run of 500", Duration.ofSeconds(5),
                    () -> registry.list("/data/ckpt", "sweep/lr-7", false));
            timed("markGone 20k", Duration.ofSeconds(15), () -> {
                registry.markGone(paths, CheckpointState.DELETED, T0.plusSeconds(COUNT + 1), "policy");
                return null;
            });
            List<Registered> history = registry.list(null, null, true);

            assertThat(present).hasSize(COUNT);
            assertThat(listed).hasSize(COUNT).allMatch(c -> c.bytes() == 7_400_000_001L);
            assertThat(oneRun).hasSize(COUNT / 40);
            assertThat(history).hasSize(COUNT).allMatch(c -> c.state() == CheckpointState.DELETED);
            assertThat(registry.present("/data/ckpt")).isEmpty();
        }
    }

    /**
     * A first pass registers a root run directory by run directory (100 checkpoints per upsert). Each upsert
     * must look up the stored rows of its own checkpoints: reading the whole root's rows for every run made
     * the 200th run read 19,900 rows, and a first pass over 20,000 checkpoints took ~10x one batch.
     */
    @Test
    void registeringARootRunByRunCostsAboutAsMuchAsOneBatch() {
        List<Registered> all = new ArrayList<>(COUNT);
        for (int i = 0; i < COUNT; i++) {
            String run = "hf-run-" + (i / 100);
            long step = (i % 100 + 1) * 500L;
            all.add(Checkpoints.withOrdering(Checkpoints.complete("/data/ckpt", run, "checkpoint-" + step, step),
                    null, step, T0.plusSeconds(i)));
        }
        Path batchDir = stateDir.resolve("one-batch");
        Path runsDir = stateDir.resolve("run-by-run");
        Duration oneBatch;
        Duration runByRun;
        try (SqliteRegistry registry = SqliteRegistry.open(batchDir)) {
            long start = System.nanoTime();
            registry.upsert(all);
            oneBatch = Duration.ofNanos(System.nanoTime() - start);
        }
        try (SqliteRegistry registry = SqliteRegistry.open(runsDir)) {
            long start = System.nanoTime();
            for (int r = 0; r < COUNT / 100; r++) {
                registry.upsert(all.subList(r * 100, (r + 1) * 100));
            }
            runByRun = Duration.ofNanos(System.nanoTime() - start);
            assertThat(registry.present("/data/ckpt")).hasSize(COUNT);
        }
        System.out.printf("registry performance: upsert 20k in one batch %d ms, in 200 runs of 100 %d ms%n",
                oneBatch.toMillis(), runByRun.toMillis());
        // 200 transactions instead of one cost a little; the same rows read 100 times over cost ~10x.
        assertThat(runByRun).isLessThan(oneBatch.multipliedBy(3).plusSeconds(2));
    }
}
