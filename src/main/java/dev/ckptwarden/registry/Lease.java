package dev.ckptwarden.registry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;
import javax.sql.DataSource;

/**
 * A row in the shared registry that at most one agent holds at a time: cluster mode's right to delete.
 * The holder is {@code host:pid:start}; the lease lasts {@code ttl} from its last renewal by the
 * database's clock (agents' clocks may disagree; the database's is the one they share); and a fencing
 * token grows by one on every change of holder, so a holder that was paused past its expiry and
 * overtaken finds a token that is no longer its own.
 *
 * <p>Taking and renewing are one statement: {@code UPDATE ... WHERE holder = me OR expires_at < now()
 * RETURNING token}. {@link #checkHeld} (the agent's deletion guard) asks the database each time whether
 * this process still holds the lease with the token it took, and refuses on any other answer,
 * including no answer.
 */
public final class Lease {

    /** The lease that decides which agent enforces retention. */
    public static final String ENFORCEMENT = "enforcement";

    private static final Logger log = LoggerFactory.getLogger(Lease.class);
    private static final int QUERY_TIMEOUT_SECONDS = 5;
    private static final String TAKE = """
            UPDATE leases SET
                token = CASE WHEN holder IS NOT DISTINCT FROM ? THEN token ELSE token + 1 END,
                acquired_at = CASE WHEN holder IS NOT DISTINCT FROM ? THEN acquired_at ELSE now() END,
                holder = ?,
                expires_at = now() + ? * INTERVAL '1 millisecond'
            WHERE name = ? AND (holder = ? OR expires_at < now())
            RETURNING token""";

    /** Who holds a lease according to the database, and whether that holding has run out. */
    public record Holding(String holder, long token, Instant expiresAt, boolean expired) {
    }

    private final DataSource database;
    private final String location;
    private final String name;
    private final String holder;
    private final Duration ttl;
    private final LongSupplier nanoTime;
    /** The token this process took, or -1 while it does not hold the lease. */
    private volatile long token = -1;
    /** {@link System#nanoTime()} before the last successful take or renewal. */
    private volatile long renewedAt;

    Lease(DataSource database, String location, String name, String holder, Duration ttl) {
        this(database, location, name, holder, ttl, System::nanoTime);
    }

    Lease(DataSource database, String location, String name, String holder, Duration ttl, LongSupplier nanoTime) {
        this.database = Objects.requireNonNull(database, "database");
        this.location = location;
        this.name = Objects.requireNonNull(name, "name");
        this.holder = Objects.requireNonNull(holder, "holder");
        this.ttl = Objects.requireNonNull(ttl, "ttl");
        this.nanoTime = nanoTime;
        if (ttl.toMillis() < 1) {
            throw new IllegalArgumentException("lease time must be at least 1 ms: " + ttl);
        }
        try (Connection c = database.getConnection();
             PreparedStatement insert = c.prepareStatement(
                     "INSERT INTO leases (name) VALUES (?) ON CONFLICT (name) DO NOTHING")) {
            insert.setString(1, name);
            insert.executeUpdate();
        } catch (SQLException e) {
            throw new RegistryException(location, "creating lease " + name + " failed: "
                    + PostgresRegistry.describe(e, null), e);
        }
    }

    /** {@code host:pid:start}: distinct for every agent process, also for a restart on the same host. */
    public static String processHolder() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = Objects.requireNonNullElse(System.getenv("HOSTNAME"), "unknown-host");
        }
        return host + ":" + ProcessHandle.current().pid() + ":"
                + Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime());
    }

    public String name() {
        return name;
    }

    /** Who this process is. */
    public String holder() {
        return holder;
    }

    public Duration ttl() {
        return ttl;
    }

    /**
     * Takes the lease if it is free or expired, or renews it if this process holds it.
     *
     * @return true when this process holds the lease for {@link #ttl()} from now (database time)
     * @throws RegistryException when the database cannot be asked; the lease then counts as not held
     */
    public boolean acquire() {
        long started = nanoTime.getAsLong();
        long before = token;
        long taken = -1;
        try (Connection c = database.getConnection(); PreparedStatement take = c.prepareStatement(TAKE)) {
            take.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            take.setString(1, holder);
            take.setString(2, holder);
            take.setString(3, holder);
            take.setLong(4, ttl.toMillis());
            take.setString(5, name);
            take.setString(6, holder);
            try (ResultSet rs = take.executeQuery()) {
                if (rs.next()) {
                    taken = rs.getLong(1);
                }
            }
        } catch (SQLException e) {
            token = -1;
            if (before >= 0) {
                log.warn("lease {}: lost, the registry cannot be reached; this agent stops deleting", name);
            }
            throw new RegistryException(location, "lease " + name + " failed: " + PostgresRegistry.describe(e, null), e);
        }
        if (taken >= 0) {
            renewedAt = started;
        }
        token = taken;
        if (taken >= 0 && taken != before) {
            log.info("lease {}: held by this agent ({}), fencing token {}; this agent deletes", name, holder, taken);
        } else if (taken < 0 && before >= 0) {
            log.warn("lease {}: lost to {}; this agent stops deleting", name, describeHolder());
        } else if (taken < 0 && !reportedOther) {
            log.info("lease {}: held by {}; this agent scans and registers, and does not delete", name, describeHolder());
        }
        reportedOther = taken < 0;
        return taken >= 0;
    }

    private volatile boolean reportedOther;

    private String describeHolder() {
        try {
            return current().map(h -> h.holder() + " (token " + h.token() + ")").orElse("nobody");
        } catch (RegistryException e) {
            return "another agent";
        }
    }

    /**
     * This process's own view: it took or renewed the lease less than {@link #ttl()} ago. Cheap, for
     * skipping work; {@link #checkHeld} is what deletion relies on.
     */
    public boolean held() {
        return token >= 0 && nanoTime.getAsLong() - renewedAt < ttl.toNanos();
    }

    /** The fencing token this process holds, or -1. */
    public long token() {
        return token;
    }

    /** Who holds the lease according to the database; empty if nobody ever took it. */
    public Optional<Holding> current() {
        try (Connection c = database.getConnection();
             PreparedStatement select = c.prepareStatement(
                     "SELECT holder, token, expires_at, expires_at <= now() FROM leases WHERE name = ?")) {
            select.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            select.setString(1, name);
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next() || rs.getString(1) == null) {
                    return Optional.empty();
                }
                Timestamp expires = rs.getTimestamp(3);
                return Optional.of(new Holding(rs.getString(1), rs.getLong(2),
                        expires == null ? Instant.MIN : expires.toInstant(), rs.getBoolean(4)));
            }
        } catch (SQLException e) {
            throw new RegistryException(location, "reading lease " + name + " failed: "
                    + PostgresRegistry.describe(e, null), e);
        }
    }

    /**
     * The deletion guard: passes only when the database says this process holds the lease, unexpired,
     * with the token it took. Use as {@code enforcer.guardWith(lease::checkHeld)}.
     *
     * @param root the root about to be enforced (named in the refusal)
     * @throws IOException saying why not: never taken, taken over, expired, or the database did not answer
     */
    public void checkHeld(String root) throws IOException {
        long mine = token;
        if (mine < 0) {
            throw new IOException("this agent does not hold lease " + name + "; " + describeHolder() + " deletes");
        }
        Holding now;
        try {
            now = current().orElse(null);
        } catch (RegistryException e) {
            throw new IOException("lease " + name + " cannot be checked: " + e.getMessage(), e);
        }
        if (now == null || !now.holder().equals(holder) || now.token() != mine) {
            throw new IOException("lease " + name + " was taken over by "
                    + (now == null ? "nobody" : now.holder() + " (token " + now.token() + ")")
                    + "; this agent's token " + mine + " is stale");
        }
        if (now.expired()) {
            throw new IOException("lease " + name + " expired at " + now.expiresAt() + " before it was renewed");
        }
    }

    /**
     * Lets the lease run out now if this process holds it, so that another agent takes over at its next
     * renewal rather than after {@link #ttl()}. Errors are logged: the lease then expires by itself.
     */
    public void release() {
        long mine = token;
        token = -1;
        if (mine < 0) {
            return;
        }
        try (Connection c = database.getConnection();
             PreparedStatement expire = c.prepareStatement(
                     "UPDATE leases SET expires_at = now() - INTERVAL '1 millisecond'"
                             + " WHERE name = ? AND holder = ? AND token = ?")) {
            expire.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            expire.setString(1, name);
            expire.setString(2, holder);
            expire.setLong(3, mine);
            expire.executeUpdate();
            log.info("lease {}: released by this agent", name);
        } catch (SQLException e) {
            log.warn("lease {}: release failed ({}); it expires by itself within {} s", name,
                    PostgresRegistry.describe(e, null), ttl.toSeconds());
        }
    }
}
