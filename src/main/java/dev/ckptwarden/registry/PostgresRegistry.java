package dev.ckptwarden.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import org.postgresql.Driver;
import org.postgresql.util.PSQLException;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * The shared registry of cluster mode: one PostgreSQL database named by {@code agent.registry_url},
 * reached through a small HikariCP pool ({@value #POOL_SIZE} connections). Same semantics as
 * {@link SqliteRegistry}: upsert keeps {@code firstSeen}, pins and an unchanged state's
 * {@code stateSince}; a deleted or offloaded row is replaced whole by a checkpoint that reappears at
 * its path; the registry writes the same history events; {@link #list} orders by root, run, step,
 * epoch, modified, name, path, text in byte order and missing values first.
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
 * <p>{@link #externalChangeCounter()} is -1: other agents commit all the time, so nothing is cached.
 */
public final class PostgresRegistry extends JdbcRegistry {

    /** Connections in the pool: the agent's passes, the HTTP API, lease renewal, and one spare. */
    public static final int POOL_SIZE = 4;

    /** How long opening a connection may take before the registry reports the server unreachable. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {
    };
    private static final String COLUMNS = "path, root, run, name, members, framework, kind, state, epoch, step,"
            + " metrics, bytes, modified, resumable, alias_of, pinned, pin_reason, problems, signature,"
            + " first_seen, state_since, note, refs";
    private static final String UPSERT = "INSERT INTO checkpoints (" + COLUMNS + ")"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (path) DO UPDATE SET " + Arrays.stream(COLUMNS.split(","))
            .map(String::trim)
            .filter(column -> !column.equals("path"))
            .map(column -> column + " = excluded." + column)
            .collect(Collectors.joining(", "));
    private static final String ORDER = " ORDER BY root, run, step NULLS FIRST, epoch NULLS FIRST,"
            + " modified NULLS FIRST, name, path";
    private static final String PRESENT_STATES = Arrays.stream(CheckpointState.values())
            .filter(CheckpointState::present)
            .map(state -> "'" + state.id() + "'")
            .collect(Collectors.joining(", ", "(", ")"));
    /** Batches larger than this look up stored rows per root rather than per path. */
    private static final int BULK_LOOKUP = 64;

    private final String location;
    private final Clock clock;
    private final HikariDataSource pool;
    private volatile boolean closed;

    private PostgresRegistry(String location, Clock clock, HikariDataSource pool) {
        this.location = location;
        this.clock = clock;
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

    /** A one-line account of a database error that a user can act on. */
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
    public Map<String, Checkpoint> present(String root) {
        Objects.requireNonNull(root, "root");
        return read("present(" + root + ")", c -> {
            try (PreparedStatement select = c.prepareStatement("SELECT " + COLUMNS + " FROM checkpoints"
                    + " WHERE root = ? AND state IN " + PRESENT_STATES)) {
                select.setString(1, root);
                Map<String, Checkpoint> found = new HashMap<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        Checkpoint checkpoint = checkpoint(rs);
                        found.put(checkpoint.key(), checkpoint);
                    }
                }
                return found;
            }
        });
    }

    @Override
    public List<Checkpoint> list(String root, String run, boolean includeHistory) {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM checkpoints WHERE TRUE");
        List<String> arguments = new ArrayList<>();
        if (root != null) {
            sql.append(" AND root = ?");
            arguments.add(root);
        }
        if (run != null) {
            sql.append(" AND run = ?");
            arguments.add(run);
        }
        if (!includeHistory) {
            sql.append(" AND state IN ").append(PRESENT_STATES);
        }
        sql.append(ORDER);
        return read("list", c -> {
            try (PreparedStatement select = c.prepareStatement(sql.toString())) {
                for (int i = 0; i < arguments.size(); i++) {
                    select.setString(i + 1, arguments.get(i));
                }
                List<Checkpoint> found = new ArrayList<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        found.add(checkpoint(rs));
                    }
                }
                return found;
            }
        });
    }

    @Override
    public Optional<Checkpoint> byPath(String path) {
        Objects.requireNonNull(path, "path");
        return read("byPath(" + path + ")", c -> {
            try (PreparedStatement select = c.prepareStatement("SELECT " + COLUMNS + " FROM checkpoints WHERE path = ?")) {
                select.setString(1, path);
                try (ResultSet rs = select.executeQuery()) {
                    return rs.next() ? Optional.of(checkpoint(rs)) : Optional.<Checkpoint>empty();
                }
            }
        });
    }

    /** What upsert needs of an existing row. */
    private record Stored(CheckpointState state, String firstSeen, String stateSince, boolean pinned, String pinReason) {
    }

    @Override
    public void upsert(Collection<Checkpoint> checkpoints) {
        if (checkpoints.isEmpty()) {
            return;
        }
        Map<String, Checkpoint> byPath = new LinkedHashMap<>();
        for (Checkpoint checkpoint : checkpoints) {
            byPath.put(checkpoint.key(), checkpoint);
        }
        String now = InstantText.format(clock.instant());
        write("upsert of " + byPath.size() + " checkpoints", c -> {
            List<PendingEvent> events = new ArrayList<>();
            try (PreparedStatement find = c.prepareStatement(
                    "SELECT state, first_seen, state_since, pinned, pin_reason FROM checkpoints WHERE path = ?");
                 PreparedStatement upsert = c.prepareStatement(UPSERT)) {
                Map<String, Stored> known = byPath.size() > BULK_LOOKUP ? storedByRoot(c, byPath.values()) : null;
                for (Checkpoint incoming : byPath.values()) {
                    Stored stored = known != null ? known.get(incoming.key()) : stored(find, incoming.key());
                    bindMerged(upsert, stored, incoming, now, events);
                    upsert.addBatch();
                }
                upsert.executeBatch();
            }
            insertEvents(c, events);
            return null;
        });
    }

    private static Map<String, Stored> storedByRoot(Connection c, Collection<Checkpoint> batch) throws SQLException {
        // A checkpoint without a root finds no stored row here and fails the insert (NOT NULL).
        Set<String> roots = new LinkedHashSet<>();
        for (Checkpoint cp : batch) {
            roots.add(cp.root());
        }
        Map<String, Stored> out = new HashMap<>();
        try (PreparedStatement select = c.prepareStatement(
                "SELECT path, state, first_seen, state_since, pinned, pin_reason FROM checkpoints WHERE root = ?")) {
            for (String root : roots) {
                select.setString(1, root);
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), new Stored(CheckpointState.fromId(rs.getString(2)), rs.getString(3),
                                rs.getString(4), rs.getBoolean(5), rs.getString(6)));
                    }
                }
            }
        }
        return out;
    }

    private static Stored stored(PreparedStatement find, String path) throws SQLException {
        find.setString(1, path);
        try (ResultSet rs = find.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            return new Stored(CheckpointState.fromId(rs.getString(1)), rs.getString(2), rs.getString(3),
                    rs.getBoolean(4), rs.getString(5));
        }
    }

    /** Binds the row that results from upserting {@code incoming} over {@code stored}, collecting history. */
    private static void bindMerged(PreparedStatement upsert, Stored stored, Checkpoint incoming, String now,
                                   List<PendingEvent> events) throws SQLException {
        String path = incoming.key();
        CheckpointState state = incoming.state();
        String incomingFirstSeen = incoming.firstSeen() != null ? InstantText.format(incoming.firstSeen()) : now;
        String incomingSince = incoming.stateSince() != null ? InstantText.format(incoming.stateSince()) : now;
        String firstSeen;
        String stateSince;
        boolean pinned;
        String pinReason;
        if (stored == null || !stored.state().present()) {
            firstSeen = incomingFirstSeen;
            stateSince = incomingSince;
            pinned = incoming.pinned();
            pinReason = incoming.pinned() ? incoming.pinReason() : null;
            if (stored == null) {
                events.add(new PendingEvent(path, firstSeen, "seen", state.id()));
            } else if (state.present()) {
                events.add(new PendingEvent(path, firstSeen, "reappeared", state.id() + ", was " + stored.state().id()));
            } else if (state != stored.state()) {
                events.add(new PendingEvent(path, stateSince, state.id(), change(stored.state(), incoming.note())));
            }
        } else {
            firstSeen = stored.firstSeen();
            pinned = stored.pinned();
            pinReason = stored.pinReason();
            if (state == stored.state()) {
                stateSince = stored.stateSince();
            } else {
                stateSince = incomingSince;
                events.add(new PendingEvent(path, stateSince, state.id(), change(stored.state(), incoming.note())));
            }
        }
        int i = 0;
        upsert.setString(++i, path);
        upsert.setString(++i, incoming.root());
        upsert.setString(++i, incoming.run());
        upsert.setString(++i, incoming.name());
        upsert.setString(++i, json(incoming.members()));
        upsert.setString(++i, incoming.framework().id());
        upsert.setString(++i, incoming.kind().id());
        upsert.setString(++i, state.id());
        setNullable(upsert, ++i, incoming.epoch(), Types.INTEGER);
        setNullable(upsert, ++i, incoming.step(), Types.BIGINT);
        upsert.setString(++i, incoming.metrics().isEmpty() ? "{}" : MetricsJson.toNode(incoming.metrics()).toString());
        upsert.setLong(++i, incoming.bytes());
        upsert.setString(++i, InstantText.format(incoming.modified()));
        if (incoming.resumable() == null) {
            upsert.setNull(++i, Types.BOOLEAN);
        } else {
            upsert.setBoolean(++i, incoming.resumable());
        }
        upsert.setString(++i, incoming.aliasOf() == null ? null : incoming.aliasOf().toString());
        upsert.setBoolean(++i, pinned);
        upsert.setString(++i, pinReason);
        upsert.setString(++i, json(incoming.problems()));
        upsert.setString(++i, incoming.signature());
        upsert.setString(++i, firstSeen);
        upsert.setString(++i, stateSince);
        upsert.setString(++i, incoming.note());
        upsert.setString(++i, json(incoming.references().stream().map(Path::toString).toList()));
    }

    private static void setNullable(PreparedStatement statement, int index, Number value, int sqlType)
            throws SQLException {
        if (value == null) {
            statement.setNull(index, sqlType);
        } else if (sqlType == Types.INTEGER) {
            statement.setInt(index, value.intValue());
        } else {
            statement.setLong(index, value.longValue());
        }
    }

    @Override
    public boolean pin(String path, boolean pinned, String reason) {
        Objects.requireNonNull(path, "path");
        Instant at = clock.instant();
        return write((pinned ? "pin of " : "unpin of ") + path, c -> {
            try (PreparedStatement update = c.prepareStatement(
                    "UPDATE checkpoints SET pinned = ?, pin_reason = ? WHERE path = ?")) {
                update.setBoolean(1, pinned);
                update.setString(2, pinned ? reason : null);
                update.setString(3, path);
                if (update.executeUpdate() == 0) {
                    return false;
                }
            }
            insertEvents(c, List.of(new PendingEvent(path, InstantText.format(at), pinned ? "pinned" : "unpinned",
                    reason)));
            return true;
        });
    }

    @Override
    public void close() {
        closed = true;
        pool.close();
    }

    private static Checkpoint checkpoint(ResultSet rs) throws SQLException {
        String path = rs.getString(1);
        try {
            int epoch = rs.getInt(9);
            Integer epochValue = rs.wasNull() ? null : epoch;
            long step = rs.getLong(10);
            Long stepValue = rs.wasNull() ? null : step;
            String metrics = rs.getString(11);
            boolean resumable = rs.getBoolean(14);
            Boolean resumableValue = rs.wasNull() ? null : resumable;
            String aliasOf = rs.getString(15);
            return new Checkpoint(
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    Path.of(path),
                    strings(rs.getString(5)),
                    Framework.fromId(rs.getString(6)),
                    CheckpointKind.fromId(rs.getString(7)),
                    CheckpointState.fromId(rs.getString(8)),
                    epochValue,
                    stepValue,
                    MetricsJson.parse(metrics),
                    rs.getLong(12),
                    InstantText.parse(rs.getString(13)),
                    resumableValue,
                    aliasOf == null ? null : Path.of(aliasOf),
                    strings(rs.getString(23)).stream().map(Path::of).toList(),
                    rs.getBoolean(16),
                    rs.getString(17),
                    strings(rs.getString(18)),
                    rs.getString(19),
                    InstantText.parse(rs.getString(20)),
                    InstantText.parse(rs.getString(21)),
                    rs.getString(22));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new SQLException("row " + path + " cannot be read: " + Schema.oneLine(e.getMessage()), e);
        }
    }

    private static List<String> strings(String json) throws JsonProcessingException {
        return "[]".equals(json) ? List.of() : JSON.readValue(json, STRING_LIST);
    }

    private static String json(List<String> strings) {
        if (strings.isEmpty()) {
            return "[]";
        }
        try {
            return JSON.writeValueAsString(strings);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a list of strings always serialises", e);
        }
    }

    @Override
    <T> T read(String what, Work<T> work) {
        ensureOpen();
        try (Connection c = pool.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw new RegistryException(location, what + " failed: " + describe(e, null), e);
        }
    }

    /** One transaction that holds the registry's write lock: writers take turns, as on SQLite. */
    @Override
    <T> T write(String what, Work<T> work) {
        return read(what, c -> {
            c.setAutoCommit(false);
            try {
                try (Statement lock = c.createStatement()) {
                    lock.execute("SELECT pg_advisory_xact_lock(" + PostgresSchema.WRITE_LOCK + ")");
                }
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        });
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
