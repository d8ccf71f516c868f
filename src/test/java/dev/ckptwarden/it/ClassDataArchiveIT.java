package dev.ckptwarden.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The launcher maps the build's class-data archive, and a JVM that cannot use one starts the normal way, quietly. */
class ClassDataArchiveIT {

    /**
     * How -Xlog:class+load names a class mapped from the archive. The build's archive is a static one that the
     * launcher maps in place of the JDK's default archive, so our classes marked so come from it.
     */
    private static final String SHARED = "source: shared objects file";

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    private static Run run(Path launcher, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(launcher.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("cds-out", ".txt");
        Path err = Files.createTempFile("cds-err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void thePackagedBuildHasAnArchiveThatTheLauncherUses() throws Exception {
        Path home = AgentProcess.home();
        assertThat(home.resolve("target/ckpt-warden.jsa")).isRegularFile();

        Path log = tmp.resolve("class-load.log");
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/ckpt-warden").toString(), "--version")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("out.txt").toFile());
        pb.environment().put("CKPT_WARDEN_JAVA_OPTS", "-Xlog:class+load:file=" + log);
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).isZero();
        assertThat(Files.readString(log)).as("classes mapped from the archive").contains("dev.ckptwarden.cli.Main " + SHARED);
    }

    /**
     * The agent's start maps from the archive what only the agent loads (its schedule, its metrics, the
     * HTTP server), not just what a one-shot scan loads: those classes are most of its start-up CPU.
     */
    @Test
    void theAgentStartsOnClassesFromTheBuildsArchive() throws Exception {
        Path home = AgentProcess.home();
        Path tree = tmp.resolve("tree");
        assertThat(AgentProcess.run("demo", "--dir", tree.toString()).exit()).isZero();
        Path conf = tmp.resolve("agent.yaml");
        Files.writeString(conf, "agent:\n  state_dir: " + tmp.resolve("state") + "\n  listen: 127.0.0.1:0\n"
                + "roots:\n  - path: " + tree + "\n    layout: auto\n");
        Path log = tmp.resolve("class-load.log");
        try (AgentProcess agent = AgentProcess.start(java.util.Map.of("CKPT_WARDEN_JAVA_OPTS", "-Xlog:class+load:file=" + log),
                "run", "--config", conf.toString())) {
            agent.awaitLine("agent started", 0, java.time.Duration.ofMinutes(5));
            agent.signal("TERM");
            assertThat(agent.awaitExit(java.time.Duration.ofMinutes(1))).isZero();
        }
        String loaded = Files.readString(log);
        assertThat(loaded).as("classes mapped from %s", home.resolve("target/ckpt-warden.jsa"))
                .contains("dev.ckptwarden.daemon.Agent " + SHARED)
                .contains("org.quartz.impl.StdSchedulerFactory " + SHARED)
                .contains("io.micrometer.prometheusmetrics.PrometheusMeterRegistry " + SHARED)
                .contains("sun.net.httpserver.ServerImpl " + SHARED)
                // Class file version 49, which a dynamic archive cannot hold: parsed and verified at every start.
                .contains("picocli.CommandLine " + SHARED)
                .contains("picocli.CommandLine$Model$CommandSpec " + SHARED);
    }

    /** A copy of the built layout elsewhere: its classpath differs from the archive's, and then a broken archive. */
    @Test
    void anArchiveThatDoesNotMatchIsIgnoredWithNothingOnStdout() throws Exception {
        Path home = AgentProcess.home();
        Path jar;
        try (var jars = Files.list(home.resolve("target"))) {
            jar = jars.filter(f -> f.getFileName().toString().matches("ckpt-warden-.*\\.jar")
                    && !f.getFileName().toString().contains("-sources")).findFirst().orElse(null);
        }
        assumeThat(jar).as("packaged jar in target/").isNotNull();
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy.resolve("bin"));
        Files.createDirectories(copy.resolve("target"));
        Files.copy(home.resolve("bin/ckpt-warden"), copy.resolve("bin/ckpt-warden"));
        Files.copy(jar, copy.resolve("target").resolve(jar.getFileName()));
        Files.createSymbolicLink(copy.resolve("target/lib"), home.resolve("target/lib"));
        Files.copy(home.resolve("target/ckpt-warden.jsa"), copy.resolve("target/ckpt-warden.jsa"));

        Run elsewhere = run(copy.resolve("bin/ckpt-warden"), "--version");
        assertThat(elsewhere.code()).isZero();
        assertThat(elsewhere.out()).matches("ckpt-warden \\S+.*\\R").doesNotContain("cds").doesNotContain("warning");
        assertThat(elsewhere.err()).doesNotContain("cds");

        Files.delete(copy.resolve("target/ckpt-warden.jsa"));
        Files.writeString(copy.resolve("target/ckpt-warden.jsa"), "not a class-data archive");
        Run broken = run(copy.resolve("bin/ckpt-warden"), "--version");
        assertThat(broken.code()).isZero();
        assertThat(broken.out()).isEqualTo(elsewhere.out());
        assertThat(broken.err()).doesNotContain("cds");
    }
}
