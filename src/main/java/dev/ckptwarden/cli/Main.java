package dev.ckptwarden.cli;

import dev.ckptwarden.registry.SqliteNativeLibrary;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;

/** The {@code ckpt-warden} command line. */
@Command(name = "ckpt-warden", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Watches model checkpoint directories, keeps a registry, enforces retention.",
        footerHeading = "%nExample:%n", footer = {"  ckpt-warden scan --config conf/ckpt-warden.yaml",
                "  ckpt-warden resolve --run exp1 latest", "  ckpt-warden help resolve"})
public final class Main implements Callable<Integer> {
    /** Every subcommand, in the order {@code --help} lists them. */
    private static final List<Class<?>> SUBCOMMANDS = List.of(RunCommand.class, ScanCommand.class, PlanCommand.class,
            EnforceCommand.class, LsCommand.class, ResolveCommand.class, ForecastCommand.class, PinCommand.class,
            UnpinCommand.class, RestoreCommand.class, InspectCommand.class, ExportRegistryCommand.class,
            CheckConfigCommand.class, DemoCommand.class, CommandLine.HelpCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code;
        try {
            userCacheDirectory().ifPresent(SqliteNativeLibrary::useCachedCopy);
            code = execute(args);
        } catch (Throwable t) {
            // An Error (out of memory in the startup pass) escapes picocli's handlers; without this the
            // scheduler's threads would keep a JVM alive that does nothing, and systemd would see it running.
            System.err.println("ckpt-warden: fatal: " + t);
            code = ExitCode.RUNTIME;
        }
        System.exit(code);
    }

    /** {@code $XDG_CACHE_HOME/ckpt-warden}, else {@code ~/.cache/ckpt-warden}; empty when neither is known. */
    static Optional<Path> userCacheDirectory() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && xdg.startsWith("/")) {
            return Optional.of(Path.of(xdg, "ckpt-warden"));
        }
        String home = System.getProperty("user.home");
        return home == null || home.isEmpty() || home.equals("?") ? Optional.empty()
                : Optional.of(Path.of(home, ".cache", "ckpt-warden"));
    }

    /** Runs a command line and returns its exit code (tests call this in-process). */
    public static int execute(String... args) {
        // picocli builds the whole model of every subcommand it is given (~40 ms for all of them): when the
        // first word names one, only that one is needed; anything else (help, options, a typo) gets all.
        Class<?> named = args.length > 0 ? subcommandNamed(args[0]) : null;
        if (named == CommandLine.HelpCommand.class) {
            named = null; // "help X" describes the other subcommands
        }
        CommandLine cl = commandLine(named);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (ex instanceof CliError ce) {
                err.println("ckpt-warden: " + TerminalText.escape(ce.getMessage()));
                return ce.exitCode();
            }
            if (ex instanceof dev.ckptwarden.registry.RegistryException re) {
                err.println("ckpt-warden: " + TerminalText.escape(re.getMessage()));
                return ExitCode.RUNTIME;
            }
            err.println("ckpt-warden: " + TerminalText.escape(ex));
            if (Boolean.getBoolean("ckptwarden.debug")) {
                ex.printStackTrace(err);
            }
            return ExitCode.RUNTIME;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("ckpt-warden: " + TerminalText.escape(ex.getMessage()));
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ExitCode.USAGE;
        });
        return cl.execute(args);
    }

    /** The command line with every subcommand, as {@code ckpt-warden --help} lists them. */
    static CommandLine commandLine() {
        return commandLine(null);
    }

    /** The command line with only {@code only} as subcommand, or with all of them when it is null. */
    private static CommandLine commandLine(Class<?> only) {
        CommandLine cl = new CommandLine(new Main());
        for (Class<?> subcommand : SUBCOMMANDS) {
            if (only == null || subcommand == only) {
                cl.addSubcommand(subcommand);
            }
        }
        cl.getSubcommands().values().forEach(Main::describeFully);
        return cl;
    }

    /**
     * Help the same way on every subcommand, set here rather than on each annotation so that a new one
     * cannot miss it: {@code -h}/{@code --help} (usage help short-circuits required options and
     * parameters), default values shown, and the width of the terminal when it is known.
     */
    private static void describeFully(CommandLine sub) {
        CommandLine.Model.CommandSpec spec = sub.getCommandSpec();
        if (spec.findOption("--help") == null) {
            spec.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true)
                    .description("Show this help and exit.").build());
        }
        spec.usageMessage().showDefaultValues(true).autoWidth(true);
        if (sub.getCommand() instanceof CommandLine.HelpCommand) {
            spec.usageMessage().footerHeading("%nExample:%n").footer("  ckpt-warden help resolve");
        }
    }

    private static Class<?> subcommandNamed(String word) {
        for (Class<?> subcommand : SUBCOMMANDS) {
            Command command = subcommand.getAnnotation(Command.class);
            if (command.name().equals(word) || List.of(command.aliases()).contains(word)) {
                return subcommand;
            }
        }
        return null;
    }

    /** The bare {@code ckpt-warden}: no command given is bad usage, so the usage goes to stderr. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCode.USAGE;
    }

    /** The version, from the build. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"ckpt-warden " + version()};
        }
    }

    static String version() {
        String v = release();
        String commit = revision();
        return commit.equals("unknown") ? v : v + " (" + commit + ")";
    }

    /** The release alone ({@code 0.1.0}): the {@code version} label of {@code ckpt_warden_build_info}. */
    static String release() {
        return buildProperties().getProperty("version", "unknown");
    }

    /** The commit the build came from, or {@code unknown} outside a git checkout. */
    static String revision() {
        String commit = buildProperties().getProperty("commit", "");
        return commit.isBlank() || commit.startsWith("${") ? "unknown" : commit;
    }

    private static Properties buildProperties() {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("/ckpt-warden-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // No properties: "unknown" below.
        }
        return p;
    }
}
