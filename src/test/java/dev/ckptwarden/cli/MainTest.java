package dev.ckptwarden.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line builds only the subcommand it runs, yet help and mistakes still see every subcommand. */
class MainTest {
    private static final String[] ALL = {"run", "scan", "plan", "enforce", "ls", "resolve", "forecast", "pin", "unpin",
            "restore", "inspect", "export-registry", "check-config", "demo", "help"};

    private static void listsEverySubcommandInOrder(String out) {
        int at = -1;
        for (String name : ALL) {
            int next = out.indexOf("\n  " + name + " ");
            assertThat(next).as(name + " in\n" + out).isGreaterThan(at);
            at = next;
        }
    }

    @Test
    void helpAndTheBareCommandListEverySubcommand() {
        CliRun help = CliRun.of("help");
        assertThat(help.code()).isZero();
        listsEverySubcommandInOrder(help.out());
        listsEverySubcommandInOrder(CliRun.of("--help").out());
        // SPEC: no arguments is bad usage; the usage goes to stderr.
        listsEverySubcommandInOrder(CliRun.of().err());
    }

    @Test
    void helpOfOneSubcommandDescribesIt() {
        CliRun viaHelp = CliRun.of("help", "scan");
        assertThat(viaHelp.code()).isZero();
        assertThat(viaHelp.out()).startsWith("Usage: ckpt-warden scan ").contains("--stats");
    }

    @Test
    void aMistypedSubcommandIsAUsageError() {
        CliRun typo = CliRun.of("sacn");
        assertThat(typo.code()).isEqualTo(ExitCode.USAGE);
        assertThat(typo.err()).contains("Unmatched argument at index 0: 'sacn'");
    }
}
