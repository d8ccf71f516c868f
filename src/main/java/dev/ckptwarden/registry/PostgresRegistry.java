package dev.ckptwarden.registry;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.Driver;
import org.postgresql.util.PSQLException;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * The shared registry of cluster mode: one PostgreSQL database named by {@code agent.registry_url},
 * reached through a small HikariCP pool ({@value #POOL_SIZE} connections). Same semantics as
 * {@link SqliteRegistry}, from the same JDBC code: upsert keeps {@code firstSeen}, pins and an unchanged
 * state's {@code stateSince}; a deleted or offloaded row is replaced whole by a checkpoint that
 * reappears at its path; the registry writes the same history events; {@link #list} orders by root,
 * run, step, epoch, modified, name, path, text in byte order (columns in {@code COLLATE "C"}) and
 * missing values first.
 *
 * <p>Credentials never come from the configuration file: the URL may name the user (else
 * {@code PGUSER}, else the login name), and the password comes from {@code PGPASSWORD} or from the
 * password file the driver reads ({@code PGPASSFILE}, default {@code ~/.pgpass}). A URL carrying a
 * password is refused.
 *
 * <p>Concurrency: several agents and command lines write to one database. Every write transaction
 * first takes one transaction-level advisory lock, so writers take turns as they do on SQLite's single
 * write lock; a read-merge-write upsert then cannot undo a {@code pin} committed by another process
 * between its read and its write. Reads take no lock.
 *
 * <p>{@link #externalChangeCounter()} reads a counter that every transaction changing checkpoint rows raises
 * in the database ({@code registry_changes}, kept by a trigger whoever writes): it moves when another agent or
 * command committed since this registry last looked, and not for this registry's own writes, so an agent
 * reuses the rows it read while no one else wrote.
 */
public final class PostgresRegistry extends JdbcRegistry {

    /** Connections in the pool: the agent's passes, the HTTP API, lease renewal, and one spare. */
    public static final int POOL_SIZE = 4;

    /** How long opening a connection may take before the registry reports the server unreachable. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final String location;
    private final HikariDataSource pool;
    private final ChangeCount changes = new ChangeCount();
    private volatile boolean closed;

    private PostgresRegistry(String location, Clock clock, HikariDataSource pool) {
        super(clock);
        this.location = location;
        this.pool = pool;
    }

    /** Opens the database at {@code url} with credentials from the process environment. */
    public static PostgresRegistry open(String url) {
        return open(url, System.getenv(), Clock.systemUTC());
    }

    /**
     * Connects, creates or migrates the schema, and starts the pool.
     *
     * @param url   {@code jdbc:postgresql://host[:port]/database[?user=...]}, without a password
     * @param env   where {@code PGUSER} and {@code PGPASSWORD} are looked up
     * @param clock stamps pin events and missing instants
     * @throws RegistryException naming server and database (never the password) when any of it fails
     */
    public static PostgresRegistry open(String url, Map<String, String> env, Clock clock) {
        Objects.requireNonNull(clock, "clock");
        Properties parsed = url == null ? null : Driver.parseURL(url, null);
        if (parsed == null) {
            throw new RegistryException(String.valueOf(url), "not a PostgreSQL JDBC URL"
                    + " (expected jdbc:postgresql://host[:port]/database)", null);
        }
        String location = location(parsed);
        // The URL text itself: the parsed properties also hold a password the driver found in a pgpass file.
        if (dev.ckptwarden.config.RegistryUrl.carriesPassword(url)) {
            throw new RegistryException(location, "the registry URL must not carry a password:"
                    + " put it in PGPASSWORD or in ~/.pgpass (or the file PGPASSFILE names)", null);
        }
        String user = firstNonBlank(parsed.getProperty("user"), env.get("PGUSER"), System.getProperty("user.name"));
        String password = firstNonBlank(env.get("PGPASSWORD"));
        Properties connection = connectionProperties(user, password);
        // One plain connection first: a server that is down, a wrong password or a missing database is
        // reported at once as one line, and it carries the migration before the pool exists.
        try (Connection probe = DriverManager.getConnection(url, connection)) {
            PostgresSchema.upgrade(probe, location);
        } catch (SQLException e) {
            throw new RegistryException(location, describe(e, user), e);
        }
        HikariConfig config = new HikariConfig();
        config.setPoolName("ckpt-warden-registry");
        config.setJdbcUrl(url);
        config.setDataSourceProperties(connection);
        config.setMaximumPoolSize(POOL_SIZE);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(CONNECT_TIMEOUT.toMillis());
        try {
            return new PostgresRegistry(location, clock, new HikariDataSource(config));
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() instanceof SQLException sql ? sql : e;
            throw new RegistryException(location, "cannot start the connection pool: "
                    + Schema.oneLine(cause.getMessage()), e);
        }
    }

    private static Properties connectionProperties(String user, String password) {
        Properties p = new Properties();
        if (user != null) {
            p.setProperty("user", user);
        }
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("ApplicationName", "ckpt-warden");
        p.setProperty("connectTimeout", Long.toString(CONNECT_TIMEOUT.toSeconds()));
        // A server that vanished mid-query (network partition) must fail the call, not hang the agent.
        p.setProperty("socketTimeout", "120");
        p.setProperty("tcpKeepAlive", "true");
        return p;
    }

    /** {@code postgresql://host:port/database}: what a message names; never a user's password. */
    static String location(Properties parsed) {
        return "postgresql://" + parsed.getProperty("PGHOST", "localhost") + ":" + parsed.getProperty("PGPORT", "5432")
                + "/" + parsed.getProperty("PGDBNAME", "");
    }

    private static String firstNonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    /** A one-line account of a database error that a user can act on, by its SQLSTATE (so not {@code ErrorLine}). */
    static String describe(SQLException e, String user) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message = Schema.oneLine(e.getMessage());
        if (state.startsWith("08")) {
            return "cannot connect: " + message;
        }
        if (state.equals("28P01") || state.equals("28000")) {
            return "authentication" + (user == null ? "" : " as " + user) + " failed (password from PGPASSWORD or"
                    + " ~/.pgpass): " + message;
        }
        if (state.equals("3D000")) {
            return "database does not exist: " + message;
        }
        if (state.equals("42501")) {
            return "permission denied (the user needs to create tables on first start): " + message;
        }
        if (e instanceof PSQLException && state.isEmpty()) {
            return "cannot connect: " + message;
        }
        return message;
    }

    /** Server and database, as messages name them. */
    public String location() {
        return location;
    }

    /** The schema version this build creates and understands. */
    public static int schemaVersion() {
        return PostgresSchema.CURRENT_VERSION;
    }

    /**
     * A lease in this database (created free if absent), held by {@code holder} when taken.
     *
     * @param name   which lease: agents that coordinate use the same name
     * @param holder who this process is: {@link Lease#processHolder()} in the agent
     * @param ttl    how long a taken or renewed lease lasts, by the database's clock
     */
    public Lease lease(String name, String holder, Duration ttl) {
        ensureOpen();
        return new Lease(pool, location, name, holder, ttl);
    }

    DataSource dataSource() {
        return pool;
    }

    @Override
    public void close() {
        closed = true;
        pool.close();
    }

    /**
     * Runs {@code work} on a pooled connection; when that connection breaks under it (the server restarted or
     * ended the session, the network dropped it), once more on a fresh one. The pool hands out a connection
     * used in the last half second without asking whether it still works, so after a restart the next unit of
     * work meets a dead one: without the second try, the registry would not learn what a deletion batch had
     * just removed, and the next pass would record those checkpoints as merely gone from disk, their eviction
     * reason (and an offload's state) lost. Every unit of work here can run twice: its writes are one
     * transaction, rolled back when the connection broke before the commit, and they leave the same rows when
     * the commit had already happened ({@code markGone} changes only rows not yet in the state, upsert merges
     * with what is stored); at worst a pin's history row is written twice. A connection that cannot be had at
     * all is not tried again: the pool already waited {@link #CONNECT_TIMEOUT} for one.
     */
    @Override
    <T> T read(String what, Work<T> work) {
        ensureOpen();
        try {
            try {
                return attempt(work);
            } catch (Broken first) {
                // Its siblings in the pool broke with it: hand out new ones rather than meet each dead one in turn.
                pool.getHikariPoolMXBean().softEvictConnections();
                try {
                    return attempt(work);
                } catch (Broken second) {
                    second.error.addSuppressed(first.error);
                    throw second.error;
                }
            }
        } catch (SQLException e) {
            throw new RegistryException(location, what + " failed: " + describe(e, null), e);
        }
    }

    /** One try of {@code work}; {@link Broken} when the connection it had broke under it. */
    private <T> T attempt(Work<T> work) throws SQLException, Broken {
        try (Connection c = pool.getConnection()) {
            try {
                return work.run(c);
            } catch (SQLException e) {
                if (broken(e, c)) {
                    throw new Broken(e);
                }
                throw e;
            }
        }
    }

    /**
     * The connection, not the statement, failed: SQLSTATE class 08 (connection exception), 57P01-57P03 (the
     * server is shutting down, crashed or restarting), or the driver has closed it.
     */
    private static boolean broken(SQLException e, Connection c) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.startsWith("08") || state.startsWith("57P0")) {
            return true;
        }
        try {
            return c.isClosed();
        } catch (SQLException closed) {
            return true;
        }
    }

    /** A unit of work's connection broke: the work may be run again on another. */
    private static final class Broken extends Exception {
        final SQLException error;

        Broken(SQLException error) {
            super(error.getMessage(), error, false, false);
            this.error = error;
        }
    }

    /**
     * Every write transaction first takes the registry's write lock (writers take turns, as on SQLite), then
     * raises the change counter: the value it returns is this transaction's own.
     */
    @Override
    long beginWrite(Connection c) throws SQLException {
        try (Statement lock = c.createStatement()) {
            lock.execute("SELECT pg_advisory_xact_lock(" + PostgresSchema.WRITE_LOCK + ")");
            try (ResultSet rs = lock.executeQuery(PostgresSchema.COUNT_CHANGE)) {
                if (!rs.next()) {
                    throw new SQLException("the change counter row is missing from registry_changes");
                }
                return rs.getLong(1);
            }
        }
    }

    @Override
    void committed(long stamp) {
        changes.own(stamp);
    }

    /** The number of changes by others this registry has noticed; see {@link ChangeCount}. */
    @Override
    public long externalChangeCounter() {
        long counter = read("reading the change counter", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(PostgresSchema.CHANGES)) {
                if (!rs.next()) {
                    throw new SQLException("the change counter row is missing from registry_changes");
                }
                return rs.getLong(1);
            }
        });
        return changes.seen(counter);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("registry " + location + " is closed");
        }
    }

    @Override
    public Optional<byte[]> sharedSecret(String name, byte[] proposed) {
        try (Connection c = pool.getConnection();
             PreparedStatement insert = c.prepareStatement(
                     "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING");
             PreparedStatement select = c.prepareStatement("SELECT value FROM secrets WHERE name = ?")) {
            insert.setString(1, name);
            insert.setBytes(2, proposed);
            insert.executeUpdate();
            select.setString(1, name);
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    throw new RegistryException(location, "shared secret '" + name + "' vanished after it was stored", null);
                }
                return Optional.of(rs.getBytes(1));
            }
        } catch (SQLException e) {
            throw new RegistryException(location, "cannot read shared secret '" + name + "'", e);
        }
    }
}
