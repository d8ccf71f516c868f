package dev.ckptwarden.it;

import dev.ckptwarden.cli.SampleFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The incident this product exists for, replayed on a real 64 MiB file system (tmpfs): a job saves
 * fixed-size checkpoints and never deletes any (save_top_k=-1). With the agent running every save
 * succeeds, free space never falls below the watermark, and the newest and the best survive. With a
 * protected set that does not fit, the agent says so (pressure_unresolved = 1) and touches nothing
 * protected. Skipped where mounting a tmpfs is not permitted.
 */
class DiskIncidentIT {
    private static final long MIB = 1 << 20;
    private static final long SAVE = 4 * MIB;
    private static final long WATERMARK = 16 * MIB;

    @TempDir
    Path dir;
    private Path mount;

    @BeforeEach
    void mountTmpfs() throws Exception {
        mount = Files.createDirectories(dir.resolve("fs"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        boolean ok = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        Assumptions.assumeTrue(ok, "cannot mount a tmpfs here (" + out.strip() + "): skipping the disk-full replay");
    }

    @AfterEach
    void unmount() throws Exception {
        if (mount != null) {
            new ProcessBuilder("umount", "-l", mount.toString()).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
        }
    }

    private Path config(String retention) throws IOException {
        Path cfg = dir.resolve("ckpt-warden.yaml");
        Files.writeString(cfg, "agent:\n  state_dir: " + dir.resolve("state") + "\n  listen: 127.0.0.1:0\n"
                + "  reconcile_interval: 1h\n  settle_time: 0s\nroots:\n  - path: " + mount + "\n    retention:\n" + retention
                + "    disk:\n      min_free: 16MiB\n    action: delete\n");
        return cfg;
    }

    @Test
    void everySaveSucceedsAndFreeSpaceStaysAboveTheWatermark() throws Exception {
        Path run = Files.createDirectories(mount.resolve("run"));
        Path cfg = config("      keep_last: 100\n      keep_best: {k: 1, metric: val_loss, mode: min}\n");
        FileStore fs = Files.getFileStore(mount);
        List<Long> freeAfterSave = new ArrayList<>();
        try (AgentProcess agent = AgentProcess.start("run", "--config", cfg.toString())) {
            agent.awaitLine("agent started", 0, Duration.ofSeconds(30));
            for (int epoch = 0; epoch < 30; epoch++) {
                double loss = epoch == 4 ? 0.05 : 1.0 / (epoch + 1) + 0.1; // epoch 4 stays the best
                Path target = run.resolve(String.format(Locale.ROOT, "epoch=%d-step=%d-val_loss=%.3f.ckpt", epoch, epoch * 10, loss));
                save(target, epoch); // throws (failing the test) if the disk is full
                freeAfterSave.add(fs.getUsableSpace());
                int mark = agent.lineCount();
                // Wait until the agent has looked at this save (registered it); then give the next one its turn.
                agent.awaitLine(java.util.regex.Pattern.quote(target.getFileName().toString()), mark > 0 ? mark - 1 : 0,
                        Duration.ofSeconds(20));
                // ...and finished that pass, enforcement included (what a training job's save interval allows).
                int seen = agent.awaitLine(java.util.regex.Pattern.quote(target.getFileName().toString()), mark > 0 ? mark - 1 : 0,
                        Duration.ofSeconds(20));
                agent.awaitLine("pass \\(.*\\) done", seen, Duration.ofSeconds(20));
            }
            assertThat(freeAfterSave).allSatisfy(free -> assertThat(free).isGreaterThanOrEqualTo(WATERMARK));
            List<String> left = names(run);
            assertThat(left).contains("epoch=29-step=290-val_loss=0.133.ckpt", "epoch=4-step=40-val_loss=0.050.ckpt");
            assertThat(agent.output()).contains("disk_pressure");
        }
    }

    @Test
    void protectedSetLargerThanTheDiskIsReportedAndUntouched() throws Exception {
        Path run = Files.createDirectories(mount.resolve("run"));
        List<Path> saved = new ArrayList<>();
        for (int epoch = 0; epoch < 13; epoch++) {
            Path p = run.resolve("epoch=" + epoch + "-step=" + epoch * 10 + ".ckpt");
            save(p, epoch);
            saved.add(p);
        }
        Path cfg = config("      keep_last: 1\n");
        java.util.Map<Path, Long> sizes = new java.util.HashMap<>();
        for (Path p : saved) {
            sizes.put(p, Files.size(p));
        }
        assertThat(AgentProcess.run("scan", "--config", cfg.toString()).exit()).isZero();
        for (Path p : saved) {
            assertThat(AgentProcess.run("pin", "--config", cfg.toString(), p.toString(), "--reason", "paper").exit()).isZero();
        }
        try (AgentProcess agent = AgentProcess.start("run", "--config", cfg.toString())) {
            int line = agent.awaitLine("serving /metrics", 0, Duration.ofSeconds(30));
            agent.awaitLine("pressure unresolved", 0, Duration.ofSeconds(30));
            Matcher m = java.util.regex.Pattern.compile(":(\\d+)\\s*$").matcher(agent.output().split("\n")[line]);
            assertThat(m.find()).isTrue();
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.group(1)
                    + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).containsPattern("ckpt_warden_pressure_unresolved\\{[^}]*\\} 1\\.0");
        }
        for (Path p : saved) {
            assertThat(p).exists().hasSize(sizes.get(p));
        }
    }

    /** A save of about SAVE bytes (a valid torch zip with one big tensor entry), written aside then renamed. */
    private static void save(Path target, int epoch) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        SampleFiles.torchZip(tmp, epoch, epoch * 10L, true, true, (int) (SAVE - 4096));
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<String> names(Path run) throws IOException {
        try (Stream<Path> s = Files.list(run)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".ckpt")).sorted().toList();
        }
    }
}
