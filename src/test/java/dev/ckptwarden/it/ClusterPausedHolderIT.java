package dev.ckptwarden.it;

import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 18 with real processes: two {@code bin/ckpt-warden run} agents in cluster mode (lease 2 s, renewal
 * 500 ms) on one PostgreSQL and one tree. The holder is stopped with SIGSTOP as soon as the first batch of
 * a large enforcement has its end lines (by then it has usually begun the next batch, past that batch's
 * fencing check), the other takes the lease over, then the holder gets SIGCONT: it finishes at most the
 * batch it was in (the root's trash lock keeps the new holder out meanwhile) and begins no other, since its
 * next batch finds its fencing token stale; the tree converges to keep_last with each checkpoint evicted
 * once and nothing left in the trash. A real-process fault run (~1 min), so behind a flag: after {@code package},
 * {@code mvn -o test-compile failsafe:integration-test -Dit.test=ClusterPausedHolderIT -Dckptwarden.faults=true}.
 * Prints its figures.
 */
@EnabledIfSystemProperty(named = "ckptwarden.faults", matches = "true",
        disabledReason = "a real-process fault run of about a minute: -Dckptwarden.faults=true")
class ClusterPausedHolderIT {
    private static final int BATCH = 1024;
    private static final Instant OLD = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private Path config(String name, Path root, String url) throws IOException {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, "agent:\n  state_dir: " + dir.resolve(name) + "\n  reconcile_interval: 5s\n"
                + "  settle_time: 1s\n  listen: 127.0.0.1:0\n  registry_url: " + url + "\n  cluster: true\n"
                + "  lease_time: 2s\n  lease_renewal: 500ms\nroots:\n  - path: " + root + "\n    retention:\n"
                + "      keep_last: 1\n    action: delete\n");
        return file;
    }

    private static List<AuditRecord> audit(Path state) throws IOException {
        Path f = state.resolve(AuditLog.FILE_NAME);
        return Files.exists(f) ? AuditLog.read(f) : List.of();
    }

    private static long count(List<AuditRecord> lines, String phase) {
        return lines.stream().filter(l -> l.phase().equals(phase)).count();
    }

    @Test
    void aHolderStoppedBetweenTwoBatchesAndResumedAfterATakeoverDeletesNothingMore() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        Path root = Files.createDirectories(dir.resolve("shared")).toRealPath();
        Files.createDirectories(root.resolve("run"));
        Path cfgA = config("a", root, url);
        Path cfgB = config("b", root, url);
        int n = 2 * BATCH + 50;
        Path first = TreeBuilder.lightningCkpt(dir.resolve("template.ckpt"), 1, 1, true, OLD);
        for (int step = 1; step <= n; step++) {
            Path p = Files.copy(first, root.resolve("run/epoch=1-step=" + step + ".ckpt"));
            TreeBuilder.touch(p, OLD.plusSeconds(step));
        }
        try (AgentProcess a = AgentProcess.start(server.env(), "run", "--config", cfgA.toString())) {
            // A takes the lease before its startup pass, which evicts n - 1 checkpoints in three batches.
            a.awaitLine("held by this agent", 0, Duration.ofSeconds(60));
            try (AgentProcess b = AgentProcess.start(server.env(), "run", "--config", cfgB.toString())) {
                long started = System.nanoTime();
                List<AuditRecord> seen;
                do {
                    Thread.onSpinWait();
                    seen = audit(dir.resolve("a"));
                    if (System.nanoTime() - started > Duration.ofMinutes(3).toNanos()) {
                        throw new AssertionError("A's first batch did not end; output:\n" + a.output());
                    }
                } while (count(seen, AuditRecord.END) < BATCH);
                a.signal("STOP");
                long stoppedAt = System.nanoTime();
                long beginsAtStop = count(audit(dir.resolve("a")), AuditRecord.BEGIN);
                try {
                    b.awaitLine("held by this agent", 0, Duration.ofSeconds(30));
                } finally {
                    a.signal("CONT");
                }
                double takeover = (System.nanoTime() - stoppedAt) / 1e9;
                a.awaitLine("lost to|taken over|stale", 0, Duration.ofSeconds(30));
                // B works on the root once A let go of its trash (at B's next pass, periodic at the latest): the
                // tree converges to the newest checkpoint.
                Path newest = root.resolve("run/epoch=1-step=" + n + ".ckpt");
                long waitFrom = System.nanoTime();
                while (onDisk(root).size() > 1) {
                    if (System.nanoTime() - waitFrom > Duration.ofMinutes(3).toNanos()) {
                        throw new AssertionError(onDisk(root).size() + " left; A:\n" + a.output() + "\nB:\n" + b.output());
                    }
                    Thread.sleep(50); // polling the disk for the outcome, not waiting for time to pass
                }
                List<AuditRecord> byA = audit(dir.resolve("a"));
                List<AuditRecord> byB = audit(dir.resolve("b"));
                System.out.printf("paused holder: %d evictions begun before SIGSTOP (batch %d), %d after SIGCONT;"
                                + " takeover %.1f s after SIGSTOP; B evicted %d; converged %.1f s after SIGCONT%n",
                        beginsAtStop, BATCH, count(byA, AuditRecord.BEGIN) - beginsAtStop, takeover,
                        count(byB, AuditRecord.BEGIN), (System.nanoTime() - waitFrom) / 1e9);

                assertThat(count(byA, AuditRecord.BEGIN)).as("A began no batch after it was resumed").isEqualTo(beginsAtStop);
                assertThat(count(byA, AuditRecord.END)).isEqualTo(count(byA, AuditRecord.BEGIN));
                assertThat(count(byB, AuditRecord.END)).isEqualTo(count(byB, AuditRecord.BEGIN));
                List<String> evicted = new ArrayList<>();
                Stream.concat(byA.stream(), byB.stream())
                        .filter(l -> l.phase().equals(AuditRecord.END) && "ok".equals(l.outcome()))
                        .forEach(l -> evicted.add(l.path()));
                assertThat(evicted).doesNotHaveDuplicates().hasSize(n - 1);
                assertThat(onDisk(root)).containsExactly(newest.getFileName().toString());
                try (Stream<Path> trash = Files.list(root.resolve(".ckpt-warden-trash"))) {
                    assertThat(trash.map(p -> p.getFileName().toString())).containsOnly(".lock");
                }
            }
        }
    }

    private static List<String> onDisk(Path root) throws IOException {
        try (Stream<Path> files = Files.list(root.resolve("run"))) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }
}
