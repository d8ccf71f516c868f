package dev.ckptwarden.export;

import dev.ckptwarden.config.DurationText;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.RegistryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * Whether the registry database answered the agent's last question: what {@code /healthz},
 * {@code ckpt_warden_registry_up} and the API's quick 503 read. An outage is an expected condition
 * (a database restarted, a network partition): it is logged once when it starts and once when it ends
 * with its length, never per failed call and never with a stack trace.
 *
 * <p>Thread-safety: passes, lease renewal and API threads report concurrently.
 */
public final class RegistryHealth {
    private static final Logger log = LoggerFactory.getLogger(RegistryHealth.class);

    private final Clock clock;
    private final Runnable onOutage;
    /** When the current outage started; null while the registry answers. */
    private Instant downSince;
    private String problem;

    /** @param clock measures how long an outage lasted */
    public RegistryHealth(Clock clock) {
        this(clock, () -> { });
    }

    /**
     * @param clock    measures how long an outage lasted
     * @param onOutage run when an outage starts (by whichever thread noticed it), e.g. to schedule probes:
     *                 only a call that reaches the database ({@link #probe}) can tell that it ended
     */
    public RegistryHealth(Clock clock, Runnable onOutage) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.onOutage = Objects.requireNonNull(onOutage, "onOutage");
    }

    /** A call reached the database and got an answer. Ends an outage (one log line with its length). */
    public void succeeded() {
        Instant since;
        synchronized (this) {
            since = downSince;
            if (since == null) {
                return;
            }
            downSince = null;
            problem = null;
        }
        Duration lasted = Duration.between(since, clock.instant()).truncatedTo(ChronoUnit.SECONDS);
        log.info("registry reachable again; the outage ended after {}",
                DurationText.format(lasted.isNegative() ? Duration.ZERO : lasted));
    }

    /**
     * A call failed. When it failed to reach the database, that starts an outage (one log line naming the
     * registry and the error) unless one is already under way.
     *
     * @return false when the error was about something else (a bad row, a constraint, a full disk): not an
     *         outage, nothing recorded, for the caller to report as the failure it is
     */
    public boolean failed(RegistryException e) {
        if (!unreachable(e)) {
            return false;
        }
        synchronized (this) {
            problem = e.getMessage();
            if (downSince != null) {
                log.debug("registry still unreachable: {}", e.getMessage());
                return true;
            }
            downSince = clock.instant();
        }
        log.warn("registry unreachable: {}; the agent keeps watching and retries, nothing is deleted meanwhile",
                e.getMessage());
        onOutage.run();
        return true;
    }

    /**
     * Whether the error says the database could not be reached or is not serving: PostgreSQL's connection
     * exceptions (SQLSTATE class 08), a server shutting down or starting up (57P01..57P03), the pool's
     * timeout; SQLite's database file that cannot be opened or is locked by another process.
     */
    static boolean unreachable(RegistryException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLTransientConnectionException
                    || t instanceof java.sql.SQLNonTransientConnectionException) {
                return true;
            }
            if (t instanceof org.sqlite.SQLiteException sqlite) {
                int primary = sqlite.getResultCode().code & 0xff;
                return primary == 5 /* BUSY */ || primary == 6 /* LOCKED */ || primary == 14 /* CANTOPEN */;
            }
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().matches("57P0[123]"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Asks the database one trivial, indexed question (a path no checkpoint has) and records the answer.
     *
     * @return true when the registry answered
     */
    public boolean probe(Registry registry) {
        try {
            registry.byPath("");
        } catch (RegistryException e) {
            if (!failed(e)) {
                log.warn("registry probe: {}", e.getMessage());
            }
            return false;
        }
        succeeded();
        return true;
    }

    public synchronized boolean up() {
        return downSince == null;
    }

    /** When the current outage started; null while the registry answers. */
    public synchronized Instant downSince() {
        return downSince;
    }

    /** The last error, naming the registry (server and database, or file); null while it answers. */
    public synchronized String problem() {
        return problem;
    }
}
