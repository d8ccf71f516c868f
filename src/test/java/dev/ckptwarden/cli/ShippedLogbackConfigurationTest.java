package dev.ckptwarden.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's log configuration is {@code conf/logback.xml} (or {@code logback-json.xml}), which users edit. While
 * such a file is as shipped, the agent configures Logback from the model the build parsed from it; the lines it
 * logs are those Logback's XML reader gives, variables resolved at start. An edited file, or a file of another
 * name, is read by Logback's XML reader as before.
 */
class ShippedLogbackConfigurationTest {
    @TempDir
    Path tmp;

    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private PrintStream original;
    private String fileBefore;

    @BeforeEach
    void captureStdout() {
        original = System.out;
        System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        fileBefore = System.getProperty("logback.configurationFile");
    }

    @AfterEach
    void restore() {
        System.setOut(original);
        restoreProperty("logback.configurationFile", fileBefore);
        System.clearProperty("CKPT_WARDEN_LOG_LEVEL");
    }

    @Test
    void theShippedFileAsShippedLogsExactlyWhatItsXmlSaysWithoutLogbacksXmlReader() throws Exception {
        Path xml = Path.of("conf", "logback.xml");
        LoggerContext fromModel = context();
        assertThat(configure(fromModel, xml)).as("configured here, not by Logback's XML reader")
                .isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        String viaModel = logSome(fromModel);

        String viaXml = logSome(readByLogback(xml));

        assertThat(viaModel).isEqualTo(viaXml).isEqualTo(String.join(System.lineSeparator(),
                "INFO  Reconciler: root data: 3 checkpoints",
                "WARN  Reconciler: root data not watched",
                "WARN  StdScheduler: misfire",
                "ERROR ProxyConnection: connection lost",
                "WARN  Other: something", ""));
    }

    @Test
    void variablesOfTheShippedFileAreResolvedAtStart() throws Exception {
        System.setProperty("CKPT_WARDEN_LOG_LEVEL", "DEBUG");
        LoggerContext context = context();
        assertThat(configure(context, Path.of("conf", "logback.xml"))).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        context.getLogger("dev.ckptwarden.watch.Reconciler").debug("looking at {}", "run-1");
        context.stop();
        assertThat(stdout.toString(StandardCharsets.UTF_8)).isEqualTo("DEBUG Reconciler: looking at run-1" + System.lineSeparator());
    }

    @Test
    void theShippedJsonFileAsShippedLogsJsonLines() throws Exception {
        LoggerContext context = context();
        assertThat(configure(context, Path.of("conf", "logback-json.xml"))).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        context.getLogger("dev.ckptwarden.watch.Reconciler").info("root {}: 3 checkpoints", "data");
        context.stop();
        assertThat(stdout.toString(StandardCharsets.UTF_8)).startsWith("{\"@timestamp\":")
                .contains("\"message\":\"root data: 3 checkpoints\"", "\"level\":\"INFO\"")
                .doesNotContain("level_value").endsWith("}" + System.lineSeparator());
    }

    @Test
    void anEditedFileIsReadByLogbacksXmlReader() throws Exception {
        Path edited = tmp.resolve("logback.xml");
        Files.writeString(edited, Files.readString(Path.of("conf", "logback.xml"))
                .replace("<root level=\"WARN\">", "<root level=\"ERROR\">"));
        LoggerContext context = context();
        assertThat(configure(context, edited)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertThat(context.getLogger("ROOT").iteratorForAppenders().hasNext()).as("left to Logback").isFalse();
    }

    @Test
    void theShippedTextUnderAnotherNameIsReadByLogbacksXmlReader() throws Exception {
        Path other = Files.copy(Path.of("conf", "logback.xml"), tmp.resolve("agent-logging.xml"));
        LoggerContext context = context();
        assertThat(configure(context, other)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertThat(context.getLogger("ROOT").iteratorForAppenders().hasNext()).isFalse();
    }

    private static LoggerContext context() {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter()); // what logback's service provider gives its own context
        return context;
    }

    private static ExecutionStatus configure(LoggerContext context, Path file) {
        System.setProperty("logback.configurationFile", file.toString());
        FallbackLogging logging = new FallbackLogging();
        logging.setContext(context);
        return logging.configure(context);
    }

    private static LoggerContext readByLogback(Path xml) throws Exception {
        LoggerContext context = context();
        JoranConfigurator reader = new JoranConfigurator();
        reader.setContext(context);
        reader.doConfigure(xml.toFile());
        return context;
    }

    /** Logs the same events at several loggers and levels; returns what reached stdout, and clears it. */
    private String logSome(LoggerContext context) throws IOException {
        context.getLogger("dev.ckptwarden.watch.Reconciler").info("root {}: 3 checkpoints", "data");
        context.getLogger("dev.ckptwarden.watch.Reconciler").debug("detail");
        context.getLogger("dev.ckptwarden.watch.Reconciler").warn("root data not watched");
        context.getLogger("org.quartz.core.StdScheduler").info("scheduler started");
        context.getLogger("org.quartz.core.StdScheduler").warn("misfire");
        context.getLogger("com.zaxxer.hikari.pool.ProxyConnection").warn("connection marked as broken");
        context.getLogger("com.zaxxer.hikari.pool.ProxyConnection").error("connection lost");
        context.getLogger("org.example.Other").info("chatter");
        context.getLogger("org.example.Other").warn("something");
        context.stop();
        System.out.flush();
        String out = stdout.toString(StandardCharsets.UTF_8);
        stdout.reset();
        return out;
    }

    private static void restoreProperty(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
