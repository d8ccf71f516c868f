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
     * A call could not reach the database. Starts an outage (one log line naming the registry and the
     * error) unless one is already under way.
     */
    public void failed(RegistryException e) {
        synchronized (this) {
            problem = e.getMessage();
            if (downSince != null) {
                log.debug("registry still unreachable: {}", e.getMessage());
                return;
            }
            downSince = clock.instant();
        }
        log.warn("registry unreachable: {}; the agent keeps watching and retries, nothing is deleted meanwhile",
                e.getMessage());
        onOutage.run();
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
            failed(e);
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
