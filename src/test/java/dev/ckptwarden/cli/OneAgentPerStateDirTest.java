package dev.ckptwarden.cli;

import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two agents on one state_dir (a second {@code run} on another port, an {@code enforce} beside a
 * running agent): the first holds {@code <state_dir>/agent.lock}, the others exit 3 naming it.
 * The agents are real processes: file locks are per process.
 */
class OneAgentPerStateDirTest {
    @TempDir
    Path dir;

    private Path config;
    private Path old;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void site() throws IOException {
        Path root = Files.createDirectories(dir.resolve("ckpt")).toRealPath();
        Instant t = Instant.now().minusSeconds(3600);
        old = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, t);
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, t.plusSeconds(60));
        config = Files.writeString(dir.resolve("ckpt-warden.yaml"), """
                agent:
                  state_dir: %s
                  settle_time: 1s
                  reconcile_interval: 1h
                  listen: 127.0.0.1:0
                roots:
                  - path: %s
                    retention:
                      keep_last: 1
                    action: report
                """.formatted(dir.resolve("state"), root));
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** {@code ckpt-warden <args>} as a real process of this build, its output lines queued. */
    private Process start(LinkedBlockingQueue<String> lines, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        started.add(p);
        if (lines == null) {
            return p; // the caller reads the output itself
        }
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException ended) {
                // the process is gone
            }
        });
        reader.setDaemon(true);
        reader.start();
        return p;
    }

    /** Waits until {@code holder} has written itself into the state_dir's lock (it holds the lock then). */
    private void awaitHolder(Process holder) throws Exception {
        Path lock = dir.resolve("state").resolve(dev.ckptwarden.daemon.AgentLock.FILE_NAME);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && holder.isAlive()) {
            if (Files.exists(lock) && Files.readString(lock).contains("pid " + holder.pid() + "\n")) {
                return;
            }
            Thread.sleep(20); // polling for the other process's write, not waiting for time to pass
        }
        throw new AssertionError("the first agent never wrote " + lock + " (alive: " + holder.isAlive() + ")");
    }

    @Test
    void aSecondAgentOnTheSameStateDirExitsThreeNamingTheFirst() throws Exception {
        Process holder = start(new LinkedBlockingQueue<>(), "run", "--config", config.toString());
        awaitHolder(holder);

        Process again = start(null, "run", "--config", config.toString());
        boolean exited = again.waitFor(60, TimeUnit.SECONDS);

        assertThat(exited).as("second agent still running").isTrue();
        String said = new String(again.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(again.exitValue()).as(said).isEqualTo(3);
        assertThat(said.strip().lines()).as(said).hasSize(1);
        assertThat(said).contains("pid " + holder.pid()).contains("started ").contains(dir.resolve("state").toString());
        assertThat(holder.isAlive()).isTrue();
    }

    @Test
    void enforceBesideARunningAgentExitsThreeAndDeletesNothing() throws Exception {
        Process holder = start(new LinkedBlockingQueue<>(), "run", "--config", config.toString());
        awaitHolder(holder);
        Files.writeString(config, Files.readString(config).replace("action: report", "action: delete"));

        CliRun r = CliRun.of("enforce", "--config", config.toString());

        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(r.err()).contains("pid " + holder.pid());
        assertThat(old).exists();
    }
}
