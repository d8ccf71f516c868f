package dev.ckptwarden.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Logging when no logback file is given (every command but {@code run}, which the launcher points at
 * {@code conf/logback.xml}, configured from its {@link LogbackModel} while unchanged): warnings to stderr as
 * {@code LEVEL Logger: message}, so stdout stays machine-readable. Built in code because logback's XML configuration (an XML parser and the pattern
 * language) took ~200 ms of every one-shot command's start. Found by logback's service loader.
 */
public final class FallbackLogging extends ContextAwareBase implements Configurator {

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        String file = System.getProperty("logback.configurationFile");
        if (file != null) {
            // A shipped file as shipped: from its model, parsed at build time (LogbackModel); otherwise
            // (edited, another file, a URL) logback's own configurator reads it.
            return configuredFromModel(context, file) ? ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY
                    : ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        LevelLoggerMessageLayout layout = new LevelLoggerMessageLayout();
        layout.setContext(context);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(layout);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(stderr);
        context.getLogger("org.quartz").setLevel(Level.WARN);
        context.getLogger("dev.ckptwarden").setLevel(Level.WARN);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    private static boolean configuredFromModel(LoggerContext context, String file) {
        try {
            return LogbackModel.configureFromShipped(context, Path.of(file));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /** The pattern {@code %-5level %logger{0}: %msg%n}, with the stack trace of an exception after it. */
    static final class LevelLoggerMessageLayout extends LayoutBase<ILoggingEvent> {
        @Override
        public String doLayout(ILoggingEvent event) {
            StringBuilder line = new StringBuilder(128);
            line.append(event.getLevel().toString());
            while (line.length() < 5) {
                line.append(' ');
            }
            String logger = event.getLoggerName();
            line.append(' ').append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(": ")
                    .append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
            IThrowableProxy thrown = event.getThrowableProxy();
            if (thrown != null) {
                line.append(ThrowableProxyUtil.asString(thrown));
            }
            return line.toString();
        }
    }
}
