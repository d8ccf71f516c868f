package dev.ckptwarden.cli;

import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.registry.JournaledRegistry;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryException;
import dev.ckptwarden.registry.SqliteRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code agent.registry_url} picks the registry every command uses; nothing falls back to SQLite silently. */
class RegistrySelectionTest {

    @TempDir
    Path dir;

    private Config withRegistryUrl(String url) {
        AgentSettings agent = new AgentSettings(dir.resolve("state"), AgentSettings.DEFAULT_LISTEN, Duration.ofMinutes(5),
                Duration.ofSeconds(10), url, !url.isEmpty(), 500);
        return new Config(null, agent, List.of());
    }

    private static int closedPort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }

    @Test
    void anEmptyUrlOpensTheEmbeddedDatabaseInTheStateDirectory() {
        try (Registry registry = ConfigOption.openRegistry(withRegistryUrl(""))) {
            // Its pins are journaled a second time in state_dir (issue 14); the database is the embedded one.
            assertThat(registry).isInstanceOf(JournaledRegistry.class);
            assertThat(((JournaledRegistry) registry).delegate()).isInstanceOf(SqliteRegistry.class);
        }
        assertThat(dir.resolve("state").resolve(SqliteRegistry.FILE_NAME)).exists();
    }

    @Test
    void aPostgresUrlGoesToPostgresAndAnUnreachableServerIsAnErrorNotAFallback() throws IOException {
        int port = closedPort();

        assertThatThrownBy(() -> ConfigOption.openRegistry(withRegistryUrl("jdbc:postgresql://127.0.0.1:" + port + "/ckpt")))
                .isInstanceOf(RegistryException.class)
                .hasMessageStartingWith("postgresql://127.0.0.1:" + port + "/ckpt: cannot connect");
        assertThat(dir.resolve("state").resolve(SqliteRegistry.FILE_NAME)).doesNotExist();
    }

    @Test
    void anyOtherUrlIsAConfigurationError() {
        assertThatThrownBy(() -> ConfigOption.openRegistry(withRegistryUrl("jdbc:mysql://db/ckpt")))
                .isInstanceOf(CliError.class)
                .hasMessageContaining("agent.registry_url")
                .hasMessageContaining("jdbc:mysql://db/ckpt");
    }

    @Test
    void aCommandAgainstAnUnreachableClusterRegistryPrintsOneLineAndFails() throws IOException {
        int port = closedPort();
        Path root = Files.createDirectories(dir.resolve("data"));
        Path conf = dir.resolve("ckpt-warden.yaml");
        Files.writeString(conf, "agent:\n  state_dir: " + dir.resolve("state") + "\n  registry_url: jdbc:postgresql://127.0.0.1:"
                + port + "/ckpt?user=warden\n  cluster: true\nroots:\n  - path: " + root + "\n");

        CliRun run = CliRun.of("ls", "--config", conf.toString());

        assertThat(run.code()).as(run.toString()).isEqualTo(ExitCode.RUNTIME);
        assertThat(run.err().strip()).startsWith("ckpt-warden: postgresql://127.0.0.1:" + port + "/ckpt: cannot connect")
                .doesNotContain("\n");
        assertThat(dir.resolve("state").resolve(SqliteRegistry.FILE_NAME)).doesNotExist();
    }
}
