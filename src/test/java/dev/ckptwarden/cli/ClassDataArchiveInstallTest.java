package dev.ckptwarden.cli;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code install.sh} dumps the class-data archive that every start of the installed launcher maps. A JVM maps a
 * cut-short archive that matches its class path and crashes (a fatal error at every start), so the archive
 * must appear at {@code lib/ckpt-warden.jsa} whole or not at all, even when the installer is killed while the
 * JVM writes it. Runs the real scripts from the source tree ({@code install.sh}, {@code cds-train.sh}) on a
 * release layout whose {@code java} is a stand-in: asked to run the agent, it announces the port of an HTTP server
 * of this test (which answers {@code /healthz} and {@code /metrics} as the agent does) and, stopped by SIGTERM,
 * writes its class list, as a JVM does at its exit; asked to dump the archive from the lists, it writes it.
 */
class ClassDataArchiveInstallTest {
    @TempDir
    Path tmp;

    /** The stand-in agent's HTTP side; records the paths asked for. */
    private HttpServer agentHttp;
    private final List<String> requested = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startAgentHttp() throws IOException {
        agentHttp = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        agentHttp.createContext("/", exchange -> {
            requested.add(exchange.getRequestURI().getPath());
            byte[] body = "ok\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        agentHttp.start();
    }

    @AfterEach
    void stopAgentHttp() {
        agentHttp.stop(0);
    }

    @Test
    void anInstallKilledWhileTheArchiveIsWrittenLeavesNoArchiveThatStartsWouldMap() throws Exception {
        // Part of an archive, then the whole installation killed (the process group, as a reboot or kill -9 does).
        Path dest = install("head -c 65536 /dev/zero > \"$out\"; kill -KILL 0");
        assertThat(dest.resolve("lib/ckpt-warden.jsa")).as("a cut-short archive where the launcher maps it")
                .doesNotExist();
    }

    /**
     * The archive holds what the agent loads at its start (its configurator, schedule, metrics, HTTP server), so
     * it is dumped by the agent's own start up to its first {@code /healthz} 200 and a {@code /metrics} scrape,
     * as the build's archive is; a {@code scan} left out ~1,900 of those classes.
     */
    @Test
    void theArchiveIsDumpedByTheAgentsOwnStartOnceItAnswersHealthz() throws Exception {
        Path dest = install("cp \"$list\" \"$out\"");
        List<String> dumpedBy = Files.readAllLines(dest.resolve("lib/ckpt-warden.jsa"));
        assertThat(dumpedBy.subList(dumpedBy.indexOf("dev.ckptwarden.cli.Main") + 1, dumpedBy.size()))
                .as("the command whose classes the archive holds").startsWith("run", "--config");
        assertThat(requested).as("asked of the agent before it was stopped").startsWith("/healthz").contains("/metrics");
    }

    @Test
    void aWholeArchiveIsInstalledWhereTheLauncherMapsIt() throws Exception {
        Path dest = install("printf 'whole archive' > \"$out\"");
        assertThat(dest.resolve("lib/ckpt-warden.jsa")).hasContent("whole archive");
        try (var lib = Files.list(dest.resolve("lib"))) {
            assertThat(lib.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("ckpt-warden-0.0.0.jar",
                    "ckpt-warden.jsa");
        }
    }

    /**
     * Runs {@code install.sh --root} of a release layout in a process group of its own, with a {@code java} that,
     * asked to run the agent, prints the agent's "serving" line with the port of {@link #agentHttp} and waits until
     * SIGTERM; a run or a scan asked to list its classes ({@code -XX:DumpLoadedClassList}) writes its arguments
     * there; asked to dump an archive ({@code -Xshare:dump}) it runs {@code dump}, a shell snippet ({@code $out} is
     * the archive's path, {@code $list} the class list it is given). Returns the installed prefix.
     */
    private Path install(String dump) throws IOException, InterruptedException {
        Path release = Files.createDirectories(tmp.resolve("release"));
        Path assembly = Path.of("src", "assembly");
        copy(assembly.resolve("install.sh"), release.resolve("install.sh"));
        copy(assembly.resolve("cds-train.sh"), release.resolve("cds-train.sh"));
        copy(assembly.resolve("uninstall.sh"), release.resolve("uninstall.sh"));
        copy(assembly.resolve("ckpt-warden.yaml"), release.resolve("conf/ckpt-warden.yaml"));
        copy(Path.of("bin", "ckpt-warden"), release.resolve("bin/ckpt-warden"));
        copy(Path.of("conf", "logback.xml"), release.resolve("conf/logback.xml"));
        copy(Path.of("conf", "logback-json.xml"), release.resolve("conf/logback-json.xml"));
        copy(Path.of("README.md"), release.resolve("README.md"));
        for (String f : List.of("ckpt-warden.service", "ckpt-warden.sysusers", "ckpt-warden.tmpfiles")) {
            copy(Path.of("systemd", f), release.resolve("systemd").resolve(f));
        }
        Files.createDirectories(release.resolve("lib"));
        Files.createFile(release.resolve("lib/ckpt-warden-0.0.0.jar"));

        Path jdk = Files.createDirectories(tmp.resolve("jdk/bin")).getParent();
        Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
        Path java = Files.writeString(jdk.resolve("bin/java"), """
                #!/usr/bin/env bash
                list= out= dump= command= main=
                for a in "$@"; do
                  [[ -n $main && -z $command ]] && command=$a
                  case $a in
                    -XX:DumpLoadedClassList=*|-XX:SharedClassListFile=*) list=${a#*=} ;;
                    -XX:SharedArchiveFile=*) out=${a#*=} ;;
                    -Xshare:dump) dump=1 ;;
                    dev.ckptwarden.cli.Main) main=1 ;;
                  esac
                done
                if [[ -n $dump ]]; then %s; exit 0; fi
                # The "class list" of a run: its arguments, one a line.
                listed() { if [[ -n $list ]]; then printf '%%s\\n' "$@" > "$list"; fi; }
                case $command in
                  run)
                    trap 'listed "$@"; exit 0' TERM
                    echo "INFO  Agent: serving /metrics, /healthz and /api/v1 on 127.0.0.1:%d"
                    while :; do sleep 0.05; done ;;
                  scan) listed "$@" ;;
                esac
                exit 0
                """.formatted(dump, agentHttp.getAddress().getPort()));
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path root = Files.createDirectories(tmp.resolve("root"));
        ProcessBuilder pb = new ProcessBuilder("setsid", "bash", release.resolve("install.sh").toString(), "--root",
                root.toString(), "--prefix", "/opt/cw", "--etc", "/etc/cw", "--no-systemd")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("install.out").toFile());
        pb.environment().put("JAVA_HOME", jdk.toString());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("install.sh ended: " + Files.readString(tmp.resolve("install.out")))
                .isTrue();
        return root.resolve("opt/cw");
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
    }
}
