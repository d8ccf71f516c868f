package dev.ckptwarden.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.slf4j.LoggerFactory;

import java.util.List;

/** The log lines ckpt-warden writes while open, as a user reads them: level, message, and whether a stack trace follows. */
public final class LogLines implements AutoCloseable {
    private final Logger logger = (Logger) LoggerFactory.getLogger("dev.ckptwarden");
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Level level = logger.getLevel();

    private LogLines() {
        // INFO and above, as the agent logs by default, whatever configuration a test dependency brought along.
        logger.setLevel(Level.INFO);
        appender.start();
        logger.addAppender(appender);
    }

    /** Starts capturing every line of the {@code dev.ckptwarden} loggers. */
    public static LogLines capture() {
        return new LogLines();
    }

    /** {@code LEVEL message}, one per line logged so far. */
    public synchronized List<String> lines() {
        return appender.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }

    /** The lines that carried a stack trace. */
    public synchronized List<String> withStackTraces() {
        return appender.list.stream().filter(e -> e.getThrowableProxy() != null)
                .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
        logger.setLevel(level);
    }
}
