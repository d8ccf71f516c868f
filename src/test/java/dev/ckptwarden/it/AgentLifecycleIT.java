package dev.ckptwarden.it;

import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The agent as systemd runs it: reload on edit and on SIGHUP, invalid edits rejected, SIGTERM exits 0 quickly. */
class AgentLifecycleIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private String yaml(String extra, Path... roots) {
        StringBuilder sb = new StringBuilder("agent:\n  state_dir: " + dir.resolve("state") + "\n  reconcile_interval: 1h\n"
                + "  settle_time: 1s\n  listen: 127.0.0.1:0\nroots:\n");
        for (Path r : roots) {
            sb.append("  - path: ").append(r).append('\n').append(extra);
        }
        return sb.toString();
    }

    @Test
    void reloadsOnEditAndSighupRejectsInvalidEditsAndStopsCleanly() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        Instant old = Instant.now().minusSeconds(3600);
        TreeBuilder.lightningCkpt(a.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, old);
        TreeBuilder.lightningCkpt(b.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, old);
        Path cfg = dir.resolve("ckpt-warden.yaml");
        Files.writeString(cfg, yaml("", a));

        try (AgentProcess agent = AgentProcess.start("run", "--config", cfg.toString())) {
            int serving = agent.awaitLine("serving /metrics", 0, WAIT);
            agent.awaitLine("agent started", 0, WAIT);
            java.util.regex.Matcher port = Pattern.compile(":(\\d+)\\s*$").matcher(agent.output().split("\n")[serving]);
            assertThat(port.find()).isTrue();
            String metricsUrl = "http://127.0.0.1:" + port.group(1) + "/metrics";
            assertThat(reloadMetric(metricsUrl)).isEqualTo("1.0");

            int mark = agent.lineCount();
            AgentProcess.write(cfg, yaml("    retention:\n      keep_lst: 3\n", a));
            agent.awaitLine("reload \\(file changed\\) rejected", mark, WAIT);
            agent.awaitLine("keep_lst: unknown key \\(did you mean keep_last\\?\\)", mark, WAIT);
            assertThat(reloadMetric(metricsUrl)).as("reload metric after a rejected edit").isEqualTo("0.0");

            mark = agent.lineCount();
            AgentProcess.write(cfg, yaml("", a, b));
            agent.awaitLine("configuration reloaded \\(file changed\\): 2 root", mark, WAIT);
            assertThat(reloadMetric(metricsUrl)).as("reload metric after the next valid edit").isEqualTo("1.0");
            agent.awaitLine("root " + Pattern.quote(b.toString()) + " added", mark, WAIT);

            mark = agent.lineCount();
            agent.signal("HUP");
            agent.awaitLine("configuration reloaded \\(SIGHUP\\)", mark, WAIT);

            long t0 = System.nanoTime();
            agent.signal("TERM");
            int exit = agent.awaitExit(Duration.ofSeconds(10));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(exit).isZero();
            assertThat(ms).as("SIGTERM to exit").isLessThan(5000);
        }
        // The registry is consistent after the stop: both roots' checkpoints are listed.
        AgentProcess.Result ls = AgentProcess.run("ls", "--config", cfg.toString(), "--json");
        assertThat(ls.exit()).isZero();
        assertThat(ls.out()).contains("epoch=1-step=10.ckpt").contains("epoch=2-step=20.ckpt");
    }

    private static String reloadMetric(String url) throws Exception {
        String body = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(url)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        java.util.regex.Matcher m = Pattern.compile("(?m)^ckpt_warden_config_last_reload_successful(?:\\{[^}]*\\})? (\\S+)$")
                .matcher(body);
        assertThat(m.find()).as("reload metric in /metrics").isTrue();
        return m.group(1);
    }
}
