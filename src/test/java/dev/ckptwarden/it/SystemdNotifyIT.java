package dev.ckptwarden.it;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Type=notify without systemd: a unix datagram socket (python3 stands in for systemd, since Java has
 * none) receives what the real agent sends through libsystemd: READY=1 after the first pass, then
 * WATCHDOG=1 while it is healthy, STOPPING=1 on SIGTERM.
 */
class SystemdNotifyIT {
    @TempDir
    Path dir;

    @Test
    void agentReportsReadinessAndPetsTheWatchdog() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no python3 to play systemd: skipping");
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libsystemd.so.0"))
                || Files.exists(Path.of("/lib/x86_64-linux-gnu/libsystemd.so.0"))
                || Files.exists(Path.of("/usr/lib/aarch64-linux-gnu/libsystemd.so.0")), "no libsystemd: skipping");
        Path socket = dir.resolve("notify.sock");
        Path received = dir.resolve("received.txt");
        Process listener = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                "import socket, sys",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "s.bind(sys.argv[1])",
                "print('listening', flush=True)",
                "with open(sys.argv[2], 'a') as out:",
                "    while True:",
                "        msg = s.recv(4096).decode()",
                "        out.write(msg.replace('\\n', ' ') + '\\n'); out.flush()"),
                socket.toString(), received.toString()).redirectErrorStream(true).start();
        try {
            assertThat(new String(listener.getInputStream().readNBytes("listening".length()))).isEqualTo("listening");
            Files.createDirectories(dir.resolve("root"));
            Path cfg = dir.resolve("ckpt-warden.yaml");
            Files.writeString(cfg, "agent:\n  state_dir: " + dir.resolve("state") + "\n  listen: 127.0.0.1:0\nroots:\n  - path: "
                    + dir.resolve("root") + "\n");
            ProcessBuilder pb = new ProcessBuilder(AgentProcess.home().resolve("bin/ckpt-warden").toString(), "run", "--config",
                    cfg.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile());
            pb.environment().put("NOTIFY_SOCKET", socket.toString());
            pb.environment().put("WATCHDOG_USEC", "2000000"); // pets every second
            Process agent = pb.start();
            try {
                String got = "";
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (System.nanoTime() < deadline && !(got.contains("READY=1") && got.contains("WATCHDOG=1"))) {
                    agent.waitFor(200, TimeUnit.MILLISECONDS); // polls the file the listener writes; bounded
                    got = Files.exists(received) ? Files.readString(received) : "";
                }
                assertThat(got).as("agent log: %s", Files.readString(dir.resolve("agent.log")))
                        .contains("READY=1").contains("STATUS=watching 1 root(s)").contains("WATCHDOG=1");
                assertThat(got.indexOf("READY=1")).isLessThan(got.indexOf("WATCHDOG=1"));
                new ProcessBuilder("kill", "-TERM", Long.toString(agent.pid())).start().waitFor();
                // Bounds on waiting, not the behaviour (a clean stop, then STOPPING=1), wide for a loaded CI machine.
                assertThat(agent.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(agent.exitValue()).isZero();
                long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (System.nanoTime() < until && !Files.readString(received).contains("STOPPING=1")) {
                    listener.waitFor(100, TimeUnit.MILLISECONDS); // the listener writes asynchronously; bounded
                }
                assertThat(Files.readString(received)).contains("STOPPING=1");
            } finally {
                agent.destroyForcibly();
            }
        } finally {
            listener.destroyForcibly();
        }
    }
}
