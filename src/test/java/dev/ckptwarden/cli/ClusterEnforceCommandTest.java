package dev.ckptwarden.cli;

import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code enforce} in cluster mode takes the agents' lease: it deletes only while no agent holds it. The
 * password comes from a pgpass file, as an operator's {@code ~/.pgpass} would give it.
 */
class ClusterEnforceCommandTest {
    private static final String PGPASSFILE_PROPERTY = "org.postgresql.pgpassfile";

    @TempDir
    Path dir;

    @AfterEach
    void forgetPasswordFile() {
        System.clearProperty(PGPASSFILE_PROPERTY);
    }

    @Test
    void enforceDeletesOnlyWhileNoAgentHoldsTheLease() throws Exception {
        PostgresServer server = PostgresServer.shared();
        String url = server.freshDatabase();
        System.setProperty(PGPASSFILE_PROPERTY, server.passwordFile(dir).toString());
        Path root = Files.createDirectories(dir.resolve("data")).toRealPath();
        Instant old = Instant.now().minus(Duration.ofDays(3));
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.lightningCkpt(root.resolve("run/epoch=" + s + "-step=" + s * 10 + ".ckpt"), s, s * 10L, true, old);
        }
        Path conf = dir.resolve("ckpt-warden.yaml");
        Files.writeString(conf, "agent:\n  state_dir: " + dir.resolve("state") + "\n  registry_url: " + url
                + "\n  cluster: true\nroots:\n  - path: " + root + "\n    retention:\n      keep_last: 1\n");

        try (PostgresRegistry agent = PostgresRegistry.open(url, server.env(), Clock.systemUTC())) {
            Lease agentsLease = agent.lease(Lease.ENFORCEMENT, "host-a:1:t0", Duration.ofMinutes(10));
            assertThat(agentsLease.acquire()).isTrue();

            CliRun refused = CliRun.of("enforce", "--config", conf.toString());

            assertThat(refused.code()).as(refused.toString()).isEqualTo(ExitCode.RUNTIME);
            assertThat(refused.err()).contains("lease enforcement is held by host-a:1:t0");
            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).exists();

            agentsLease.release();
            CliRun done = CliRun.of("enforce", "--config", conf.toString());

            assertThat(done.code()).as(done.toString()).isEqualTo(ExitCode.OK);
            assertThat(root.resolve("run/epoch=1-step=10.ckpt")).doesNotExist();
            assertThat(root.resolve("run/epoch=3-step=30.ckpt")).exists();
            assertThat(agentsLease.acquire()).as("the command released the lease when it was done").isTrue();
        }
    }
}
