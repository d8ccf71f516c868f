package dev.ckptwarden.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
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

class FallbackLoggingTest {
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private PrintStream original;

    @BeforeEach
    void captureStderr() {
        original = System.err;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreStderr() {
        System.setErr(original);
    }

    private LoggerContext configured() {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter()); // what logback's service provider gives its own context
        FallbackLogging logging = new FallbackLogging();
        logging.setContext(context);
        assertThat(logging.configure(context)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        return context;
    }

    @Test
    void warningsGoToStderrAsLevelSimpleLoggerNameAndMessageInfoIsDropped() {
        LoggerContext context = configured();
        context.getLogger("dev.ckptwarden.watch.Reconciler").warn("root {} not scanned", "data");
        context.getLogger("dev.ckptwarden.watch.Reconciler").info("quiet");
        context.getLogger("org.sqlite.SQLiteJDBCLoader").error("failed");
        context.stop();

        assertThat(captured.toString(StandardCharsets.UTF_8)).isEqualTo(
                "WARN  Reconciler: root data not scanned" + System.lineSeparator()
                        + "ERROR SQLiteJDBCLoader: failed" + System.lineSeparator());
    }

    @Test
    void anExceptionIsPrintedWithItsStackAfterTheLine() {
        LoggerContext context = configured();
        context.getLogger("dev.ckptwarden.daemon.Agent").warn("pass failed", new IOException("disk gone"));
        context.stop();

        String out = captured.toString(StandardCharsets.UTF_8);
        assertThat(out).startsWith("WARN  Agent: pass failed" + System.lineSeparator()
                + "java.io.IOException: disk gone" + System.lineSeparator() + "\tat ");
        assertThat(out).endsWith(System.lineSeparator()).doesNotEndWith(System.lineSeparator() + System.lineSeparator());
    }

    @Test
    void aNamedConfigurationFileIsLeftToLogback(@TempDir Path tmp) throws IOException {
        // A user's file (the shipped one as shipped is configured from its model: ShippedLogbackConfigurationTest).
        Path file = Files.writeString(tmp.resolve("logback.xml"), "<configuration/>\n");
        String before = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", file.toString());
        try {
            LoggerContext context = new LoggerContext();
            FallbackLogging logging = new FallbackLogging();
            logging.setContext(context);
            assertThat(logging.configure(context)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(context.getLogger("ROOT").iteratorForAppenders().hasNext()).isFalse();
        } finally {
            if (before == null) {
                System.clearProperty("logback.configurationFile");
            } else {
                System.setProperty("logback.configurationFile", before);
            }
        }
    }
}
