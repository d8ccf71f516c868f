package dev.ckptwarden.it;

import dev.ckptwarden.cli.SampleFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The product's promise end to end: a training job keeps saving Lightning-style checkpoints (some
 * written to a temporary name and renamed, some written in place, slowly), the agent runs as a real
 * process with keep_last 2 + keep_best 1, and while saving goes on `resolve latest` never returns a
 * partial file; at the end exactly the newest two and the best are left.
 */
class AgentRetentionIT {
    private static final double[] VAL_LOSS = {0.90, 0.70, 0.10, 0.60, 0.50, 0.45, 0.40, 0.35, 0.30, 0.25};

    @TempDir
    Path dir;

    @Test
    void retentionHoldsWhileSavingContinuesAndResolveNeverReturnsAPartialFile() throws Exception {
        Path root = Files.createDirectories(dir.resolve("ckpt"));
        Path run = Files.createDirectories(root.resolve("mnist"));
        Path cfg = dir.resolve("ckpt-warden.yaml");
        Files.writeString(cfg, "agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 1s\n  listen: 127.0.0.1:0\nroots:\n  - path: " + root + "\n    retention:\n      keep_last: 2\n"
                + "      keep_best: {k: 1, metric: val_loss, mode: min}\n    action: delete\n");

        List<String> resolved = new ArrayList<>();
        List<String> bad = new ArrayList<>();
        AtomicBoolean saving = new AtomicBoolean(true);
        try (AgentProcess agent = AgentProcess.start("run", "--config", cfg.toString())) {
            agent.awaitLine("agent started", 0, Duration.ofSeconds(30));
            Thread checker = new Thread(() -> {
                while (saving.get()) {
                    try {
                        AgentProcess.Result r = AgentProcess.run("resolve", "--config", cfg.toString(), "--run", "mnist", "latest");
                        if (r.exit() == 0) {
                            String path = r.out().strip();
                            synchronized (resolved) {
                                resolved.add(path);
                            }
                            if (!intactOrGone(Path.of(path))) {
                                synchronized (bad) {
                                    bad.add(path);
                                }
                            }
                        }
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            }, "resolve-checker");
            checker.start();
            for (int epoch = 0; epoch < VAL_LOSS.length; epoch++) {
                String name = String.format(Locale.ROOT, "epoch=%d-step=%d-val_loss=%.2f.ckpt", epoch, (epoch + 1) * 100,
                        VAL_LOSS[epoch]);
                if (epoch % 2 == 0) {
                    saveViaTempAndRename(run.resolve(name), epoch);
                } else {
                    saveInPlaceSlowly(run.resolve(name), epoch);
                }
            }
            saving.set(false);
            checker.join();

            // Wait for the agent to settle the last saves and apply retention (it says so in its log).
            Path best = run.resolve("epoch=2-step=300-val_loss=0.10.ckpt");
            Path newest = run.resolve("epoch=9-step=1000-val_loss=0.25.ckpt");
            Path second = run.resolve("epoch=8-step=900-val_loss=0.30.ckpt");
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (ckpts(run).size() > 3 && System.nanoTime() < deadline) {
                agent.awaitLine("evicted", agent.lineCount() > 0 ? agent.lineCount() - 1 : 0, Duration.ofSeconds(30));
            }
            assertThat(ckpts(run)).containsExactlyInAnyOrder(best, second, newest);
            assertThat(agent.output()).doesNotContain("ERROR");

            // What Prometheus sees: evictions by reason, the checkpoints left, and a healthy agent.
            int line = agent.awaitLine("serving /metrics", 0, Duration.ofSeconds(1));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(":(\\d+)\\s*$").matcher(agent.output().split("\n")[line]);
            assertThat(m.find()).isTrue();
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + m.group(1);
            java.net.http.HttpResponse<String> metrics = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).containsPattern("ckpt_warden_evictions_total\\{[^}]*reason=\"policy\"[^}]*\\} 7\\.0")
                    .containsPattern("ckpt_warden_checkpoints\\{[^}]*run=\"mnist\"[^}]*state=\"complete\"[^}]*\\} 3\\.0");
            java.net.http.HttpResponse<String> health = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + "/healthz")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
        }
        assertThat(resolved).as("resolve answered while saving").isNotEmpty();
        assertThat(bad).as("paths resolve returned that were not complete zips").isEmpty();
        AgentProcess.Result latest = AgentProcess.run("resolve", "--config", cfg.toString(), "--run", "mnist", "latest");
        assertThat(latest.out().strip()).endsWith("epoch=9-step=1000-val_loss=0.25.ckpt");
        AgentProcess.Result best = AgentProcess.run("resolve", "--config", cfg.toString(), "--run", "mnist", "best");
        assertThat(best.out().strip()).endsWith("epoch=2-step=300-val_loss=0.10.ckpt");
    }

    /** What Lightning's atomic save does: write elsewhere, then rename into place. */
    private static void saveViaTempAndRename(Path target, int epoch) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        SampleFiles.torchZip(tmp, epoch, (epoch + 1) * 100L, true, true);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }

    /** What a plain torch.save to the final name does: the file exists, growing, before it is whole. */
    private static void saveInPlaceSlowly(Path target, int epoch) throws IOException, InterruptedException {
        Path whole = target.resolveSibling("." + target.getFileName() + ".src");
        SampleFiles.torchZip(whole, epoch, (epoch + 1) * 100L, true, true);
        byte[] bytes = Files.readAllBytes(whole);
        Files.delete(whole);
        try (OutputStream out = Files.newOutputStream(target)) {
            int chunk = Math.max(1, bytes.length / 4);
            for (int off = 0; off < bytes.length; off += chunk) {
                out.write(bytes, off, Math.min(chunk, bytes.length - off));
                out.flush();
                Thread.sleep(150); // the job writing slowly: part of the simulated workload, not a wait in the test
            }
        }
    }

    private static boolean intactOrGone(Path p) {
        if (!Files.exists(p)) {
            return true; // evicted after it was returned: not a partial file
        }
        try (ZipFile z = new ZipFile(p.toFile())) {
            return z.getEntry("archive/data.pkl") != null;
        } catch (IOException e) {
            return false;
        }
    }

    private static List<Path> ckpts(Path run) throws IOException {
        try (Stream<Path> s = Files.list(run)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".ckpt")).toList();
        }
    }
}
