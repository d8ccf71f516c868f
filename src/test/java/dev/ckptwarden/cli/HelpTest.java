package dev.ckptwarden.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC "Command line": every command answers {@code -h}/{@code --help} with its usage, options and an
 * example (rc 0, on stdout); the bare command prints usage to stderr (rc 2). The subcommands come from
 * the command line Main builds, so a new subcommand cannot be left out.
 */
class HelpTest {

    private static List<String> everySubcommand() {
        List<String> names = new ArrayList<>(Main.commandLine().getSubcommands().keySet());
        assertThat(names).contains("run", "resolve", "plan", "help");
        return names;
    }

    @Test
    void dashDashHelpAndDashHOfEverySubcommandPrintUsageOptionsAndAnExample() {
        for (String name : everySubcommand()) {
            for (String flag : List.of("--help", "-h")) {
                CliRun r = CliRun.of(name, flag);
                assertThat(r.code()).as(name + " " + flag + ": " + r).isZero();
                assertThat(r.out()).as(name + " " + flag).contains("Usage: ckpt-warden " + name + " ")
                        .contains("-h, --help").contains("Example");
                assertThat(r.err()).as(name + " " + flag).isEmpty();
            }
        }
    }

    @Test
    void helpOfEveryCommandThatReadsConfigurationShowsTheConfigDefault() {
        for (String name : everySubcommand()) {
            CommandLine sub = Main.commandLine().getSubcommands().get(name);
            if (sub.getCommandSpec().findOption("--config") != null) {
                assertThat(CliRun.of(name, "--help").out()).as(name)
                        .contains("--config=FILE").contains("conf/ckpt-warden.yaml");
            }
        }
    }

    @Test
    void helpShowsDefaultValuesOfOptionsThatHaveOne() {
        assertThat(CliRun.of("resolve", "--help").out()).contains("Default: min");
        assertThat(CliRun.of("demo", "--help").out()).contains("Default: demo/checkpoints");
    }

    @Test
    void helpNeedsNoneOfTheRequiredArguments() {
        // resolve requires --run and SELECTOR; asking for help must not complain about them.
        CliRun r = CliRun.of("resolve", "--help");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.err()).doesNotContain("Missing");
    }

    @Test
    void theBareCommandPrintsUsageToStderrAndExitsTwo() {
        CliRun r = CliRun.of();
        assertThat(r.code()).as(r.toString()).isEqualTo(ExitCode.USAGE);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("Usage: ckpt-warden").contains("resolve");
    }
}
