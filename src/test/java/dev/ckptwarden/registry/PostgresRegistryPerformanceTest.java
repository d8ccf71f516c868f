package dev.ckptwarden.registry;


import dev.ckptwarden.catalog.CheckpointState;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static dev.ckptwarden.registry.Checkpoints.T0;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Times the shared PostgreSQL registry at the size of a busy machine (the same work as
 * {@link SqliteRegistryPerformanceTest}, so the two print comparable figures): 20,000 checkpoints in one root. Prints the figures;
 * asserts only bounds generous enough for a loaded 2-core CI machine, so that a regression by an order
 * of magnitude (a statement per row outside the transaction, a missing index) still fails.
 */
class PostgresRegistryPerformanceTest {

    private static final int COUNT = 20_000;

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
        System.out.printf("registry performance (postgres): %-34s %6d ms%n", what, took.toMillis());
        assertThat(took).as(what).isLessThan(bound);
        return result;
    }

    @Test
    void twentyThousandCheckpoints() {
        List<Registered> first = checkpoints(7_400_000_000L);
        List<Registered> rescan = checkpoints(7_400_000_001L);
        List<String> paths = first.stream().map(Registered::key).toList();
        PostgresServer server = PostgresServer.shared();
        try (PostgresRegistry registry = PostgresRegistry.open(server.freshDatabase(), server.env(), Clock.systemUTC())) {
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
}
