package dev.ckptwarden.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
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
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

/**
 * The embedded registry: one SQLite database, {@code <state_dir>/registry.db}, in WAL mode with
 * {@code synchronous=NORMAL}, a busy timeout and foreign keys on.
 *
 * <p>Concurrency: one connection used under a lock. SQLite admits one writer at a time anyway, and the
 * agent's reads (one root's present checkpoints, one run's listing) take milliseconds, so a pool would
 * add connections without adding throughput. Write transactions begin {@code IMMEDIATE}, so another
 * process on the same file (the CLI's {@code pin} beside the daemon) waits up to the busy timeout
 * instead of failing on a stale snapshot.
 *
 * <p>Upsert keeps an existing row's {@code firstSeen} and pin, and its {@code stateSince} while the state
 * is unchanged; a row in state deleted or offloaded is replaced whole by a checkpoint that appears again
 * at its path (its history stays). A {@code firstSeen} or {@code stateSince} left null is stamped with
 * this registry's clock.
 *
 * <p>History events written by the registry itself: {@code seen} (first registration, detail: the state),
 * {@code reappeared} (a new checkpoint at the path of a deleted or offloaded one), a state id
 * ({@code writing}, {@code complete}, {@code corrupt}, {@code deleted}, {@code offloaded}) on every state
 * change (detail: the previous state and the note or reason), {@code pinned} and {@code unpinned}
 * (detail: the reason). History rows must belong to a registered path (a foreign key).
 *
 * <p>{@link #list} order: root, run, step, epoch, modified, name, path; text in byte order, and a
 * missing step, epoch or modification time sorts first, so within a run the highest step is last.
 */
public final class SqliteRegistry extends JdbcRegistry {

    /** File name of the database inside the state directory. */
    public static final String FILE_NAME = "registry.db";

    /** How long a statement waits for another process's write lock before failing. */
    public static final Duration BUSY_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(SqliteRegistry.class);
    /** Built on first use: a warm scan reads only empty lists and so never needs Jackson's databind. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }
    private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {
    };

    private static final String COLUMNS = "path, root, run, name, members, framework, kind, state, epoch, step,"
            + " metrics, bytes, modified, resumable, alias_of, pinned, pin_reason, problems, signature,"
            + " first_seen, state_since, note, refs";
    private static final String UPSERT = "INSERT INTO checkpoints (" + COLUMNS + ")"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT(path) DO UPDATE SET " + Arrays.stream(COLUMNS.split(","))
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

    private final Path database;
    private final Clock clock;
    private final Connection connection;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean closed;

    private SqliteRegistry(Path database, Clock clock, Connection connection) {
        this.database = database;
        this.clock = clock;
        this.connection = connection;
    }

    /** Opens (creating if needed) {@code <stateDir>/registry.db} and migrates it to the current schema. */
    public static SqliteRegistry open(Path stateDir) {
        return open(stateDir, Clock.systemUTC());
    }

    /** As {@link #open(Path)}, with the clock that stamps pin events and missing instants. */
    public static SqliteRegistry open(Path stateDir, Clock clock) {
        Objects.requireNonNull(clock, "clock");
        Path dir = stateDir.toAbsolutePath().normalize();
        Path database = dir.resolve(FILE_NAME);
        prepareDirectory(dir, database);
        Connection connection = connect(database);
        try {
            Schema.upgrade(connection, database);
            return new SqliteRegistry(database, clock, connection);
        } catch (SQLException | RuntimeException e) {
            try {
                connection.close();
            } catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            if (e instanceof RegistryException registryException) {
                throw registryException;
            }
            throw new RegistryException(database, describe(e), e);
        }
    }

    /** The database file. */
    public Path database() {
        return database;
    }

    /** The schema version this build creates and understands. */
    public static int schemaVersion() {
        return Schema.CURRENT_VERSION;
    }

    private static void prepareDirectory(Path dir, Path database) {
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new RegistryException(dir, "state directory exists but is not a directory", e);
        } catch (FileSystemException e) {
            throw new RegistryException(dir, "cannot create state directory: "
                    + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName()), e);
        } catch (IOException e) {
            throw new RegistryException(dir, "cannot create state directory: " + e.getMessage(), e);
        }
        if (!Files.isWritable(dir)) {
            throw new RegistryException(dir, "state directory is not writable");
        }
        if (Files.isDirectory(database)) {
            throw new RegistryException(database, "is a directory, not a SQLite database");
        }
        if (Files.exists(database) && !Files.isWritable(database)) {
            throw new RegistryException(database, "registry database is not writable");
        }
    }

    private static Connection connect(Path database) {
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setBusyTimeout((int) BUSY_TIMEOUT.toMillis());
        config.enforceForeignKeys(true);
        config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        Connection connection;
        try {
            connection = config.createConnection("jdbc:sqlite:" + database);
        } catch (SQLException e) {
            throw new RegistryException(database, describe(e), e);
        }
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("PRAGMA journal_mode")) {
            String mode = rs.next() ? rs.getString(1) : "unknown";
            if (!"wal".equalsIgnoreCase(mode)) {
                // WAL needs shared memory, which some network file systems lack; SQLite then keeps the old mode.
                LOG.warn("registry {} runs in journal mode {} instead of wal: keep state_dir on a local file system",
                        database, mode);
            }
        } catch (SQLException e) {
            try {
                connection.close();
            } catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            throw new RegistryException(database, describe(e), e);
        }
        return connection;
    }

    /** A one-line account of a database error that a user can act on. */
    private static String describe(Exception e) {
        if (e instanceof SQLiteException sqlite) {
            int extended = sqlite.getResultCode().code;
            if (extended == SQLiteErrorCode.SQLITE_IOERR_SHMSIZE.code || extended == SQLiteErrorCode.SQLITE_IOERR_WRITE.code
                    || extended == SQLiteErrorCode.SQLITE_IOERR_FSYNC.code || extended == SQLiteErrorCode.SQLITE_IOERR_TRUNCATE.code
                    || e.getMessage() != null && e.getMessage().contains("No space left on device")) {
                // On a full disk SQLite fails to grow its -shm or -wal file: say that, not its error code.
                return "cannot write the database files (" + SQLiteErrorCode.getErrorCode(extended).name()
                        + "): the disk holding state_dir is full or failing; free space there";
            }
            SQLiteErrorCode code = SQLiteErrorCode.getErrorCode(extended & 0xff);
            switch (code) {
                case SQLITE_NOTADB:
                    return "not a SQLite database (move it away or point state_dir elsewhere)";
                case SQLITE_CORRUPT:
                    return "the SQLite database is corrupt";
                case SQLITE_CANTOPEN:
                    return "cannot open the database file";
                case SQLITE_READONLY:
                case SQLITE_PERM:
                    return "the database is read-only";
                case SQLITE_BUSY:
                case SQLITE_LOCKED:
                    return "the database stayed locked by another process for " + BUSY_TIMEOUT.toSeconds() + " s";
                case SQLITE_FULL:
                    return "the disk holding the database is full";
                default:
                    break;
            }
        }
        return Schema.oneLine(e.getMessage());
    }

    /** SQLite's {@code PRAGMA data_version}: changes on commits by other connections only. */
    @Override
    public long externalChangeCounter() {
        return read("data_version", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA data_version")) {
                return rs.next() ? rs.getLong(1) : -1L;
            }
        });
    }

    @Override
    public Map<String, Checkpoint> present(String root) {
        Objects.requireNonNull(root, "root");
        return read("present(" + root + ")", c -> {
            Map<String, Checkpoint> packed = presentPacked(c, root);
            return packed != null ? packed : presentByColumn(c, root);
        });
    }

    /** Columns that may hold NULL; in a packed row they are written as '=' + value, or empty for NULL. */
    private static final java.util.Set<String> NULLABLE = java.util.Set.of("epoch", "step", "modified", "resumable",
            "alias_of", "pin_reason", "signature", "note");
    private static final int COLUMN_COUNT = COLUMNS.split(",").length;
    /**
     * One text per row, its columns separated by NUL (which no path, name or note can hold): sqlite-jdbc
     * crosses JNI twice for every column it reads, and 23 columns of 20,000 rows that way were most of a
     * warm scan's registry read. Same columns and order as {@link #COLUMNS}.
     */
    private static final String PACKED_PRESENT = "SELECT " + Arrays.stream(COLUMNS.split(","))
            .map(String::trim)
            .map(column -> NULLABLE.contains(column) ? "ifnull('=' || " + column + ", '')" : column)
            .collect(Collectors.joining(" || char(0) || ")) + " FROM checkpoints WHERE root = ? AND state IN " + PRESENT_STATES;

    /** No ORDER BY: the caller looks rows up by path. Null when a row does not unpack (then read column by column). */
    private static Map<String, Checkpoint> presentPacked(Connection c, String root) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(PACKED_PRESENT)) {
            select.setString(1, root);
            Map<String, Checkpoint> found = new HashMap<>();
            String[] fields = new String[COLUMN_COUNT];
            // Rows of one root share their root and run names and mostly a handful of first-seen and
            // state-since times: one object each instead of one per row (the agent keeps these rows).
            Map<String, Object> shared = new HashMap<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    Checkpoint checkpoint = unpack(rs.getString(1), fields, shared);
                    if (checkpoint == null) {
                        return null;
                    }
                    found.put(checkpoint.key(), checkpoint);
                }
            }
            return found;
        }
    }

    /** A checkpoint from a packed row, or null when the row is not what {@link #PACKED_PRESENT} writes. */
    private static Checkpoint unpack(String row, String[] f, Map<String, Object> shared) {
        int at = 0;
        for (int i = 0; i < f.length; i++) {
            int end = row.indexOf('\0', at);
            if ((end < 0) != (i == f.length - 1)) {
                return null; // a NUL inside a value after all: let the column reader handle the row
            }
            f[i] = row.substring(at, end < 0 ? row.length() : end);
            at = end + 1;
        }
        try {
            String resumable = nullable(f[13]);
            String aliasOf = nullable(f[14]);
            String epoch = nullable(f[8]);
            String step = nullable(f[9]);
            return new Checkpoint(
                    (String) shared.computeIfAbsent(f[1], k -> k),
                    (String) shared.computeIfAbsent(f[2], k -> k),
                    f[3],
                    Path.of(f[0]),
                    strings(f[4]),
                    Framework.fromId(f[5]),
                    CheckpointKind.fromId(f[6]),
                    CheckpointState.fromId(f[7]),
                    epoch == null ? null : Integer.valueOf(epoch),
                    step == null ? null : Long.valueOf(step),
                    MetricsJson.parse(f[10]),
                    Long.parseLong(f[11]),
                    InstantText.parse(nullable(f[12])),
                    resumable == null ? null : Long.parseLong(resumable) != 0,
                    aliasOf == null ? null : Path.of(aliasOf),
                    paths(strings(f[22])),
                    Long.parseLong(f[15]) != 0,
                    nullable(f[16]),
                    strings(f[17]),
                    nullable(f[18]),
                    (Instant) shared.computeIfAbsent("\0" + f[19], k -> InstantText.parse(f[19])),
                    (Instant) shared.computeIfAbsent("\0" + f[20], k -> InstantText.parse(f[20])),
                    nullable(f[21]));
        } catch (JsonProcessingException | RuntimeException e) {
            return null; // the column reader names what is wrong with the row
        }
    }

    private static String nullable(String packed) {
        return packed.isEmpty() ? null : packed.substring(1);
    }

    private static List<Path> paths(List<String> strings) {
        if (strings.isEmpty()) {
            return List.of();
        }
        List<Path> out = new ArrayList<>(strings.size());
        for (String s : strings) {
            out.add(Path.of(s));
        }
        return out;
    }

    private static Map<String, Checkpoint> presentByColumn(Connection c, String root) throws SQLException {
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
    }

    @Override
    public List<Checkpoint> list(String root, String run, boolean includeHistory) {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM checkpoints WHERE 1 = 1");
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

    @Override
    public Map<String, Checkpoint> byPaths(Collection<String> paths) {
        if (paths.isEmpty()) {
            return Map.of();
        }
        List<String> all = new ArrayList<>(new java.util.LinkedHashSet<>(paths));
        return read("byPaths(" + all.size() + " paths)", c -> {
            Map<String, Checkpoint> out = new HashMap<>();
            for (int from = 0; from < all.size(); from += 500) {
                List<String> chunk = all.subList(from, Math.min(all.size(), from + 500));
                String marks = String.join(",", java.util.Collections.nCopies(chunk.size(), "?"));
                try (PreparedStatement select = c.prepareStatement("SELECT " + COLUMNS + " FROM checkpoints WHERE path IN ("
                        + marks + ")")) {
                    for (int i = 0; i < chunk.size(); i++) {
                        select.setString(i + 1, chunk.get(i));
                    }
                    try (ResultSet rs = select.executeQuery()) {
                        while (rs.next()) {
                            Checkpoint found = checkpoint(rs);
                            out.put(found.key(), found);
                        }
                    }
                }
            }
            return out;
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
        // One row per path; a later element for the same path wins, as if upserted after the earlier one.
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
                // A big batch (a cold scan) reads the stored rows of its roots in one query, not one per row.
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

    /** Batches larger than this look up stored rows per root rather than per path. */
    private static final int BULK_LOOKUP = 64;

    private static Map<String, Stored> storedByRoot(Connection c, Collection<Checkpoint> batch) throws SQLException {
        java.util.Set<String> roots = new java.util.TreeSet<>();
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
                                rs.getString(4), rs.getInt(5) != 0, rs.getString(6)));
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
                    rs.getInt(4) != 0, rs.getString(5));
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
                events.add(event(path, firstSeen, "seen", state.id()));
            } else if (state.present()) {
                events.add(event(path, firstSeen, "reappeared", state.id() + ", was " + stored.state().id()));
            } else if (state != stored.state()) {
                events.add(event(path, stateSince, state.id(), change(stored.state(), incoming.note())));
            }
        } else {
            firstSeen = stored.firstSeen();
            pinned = stored.pinned();
            pinReason = stored.pinReason();
            if (state == stored.state()) {
                stateSince = stored.stateSince();
            } else {
                stateSince = incomingSince;
                events.add(event(path, stateSince, state.id(), change(stored.state(), incoming.note())));
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
        setNullable(upsert, ++i, incoming.resumable() == null ? null : incoming.resumable() ? 1 : 0, Types.INTEGER);
        upsert.setString(++i, incoming.aliasOf() == null ? null : incoming.aliasOf().toString());
        upsert.setInt(++i, pinned ? 1 : 0);
        upsert.setString(++i, pinReason);
        upsert.setString(++i, json(incoming.problems()));
        upsert.setString(++i, incoming.signature());
        upsert.setString(++i, firstSeen);
        upsert.setString(++i, stateSince);
        upsert.setString(++i, incoming.note());
        upsert.setString(++i, json(incoming.references().stream().map(Path::toString).toList()));
    }

    private static PendingEvent event(String path, String at, String event, String detail) {
        return new PendingEvent(path, at, event, detail);
    }

    private static void setNullable(PreparedStatement statement, int index, Number value, int sqlType)
            throws SQLException {
        if (value == null) {
            statement.setNull(index, sqlType);
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
                update.setInt(1, pinned ? 1 : 0);
                update.setString(2, pinned ? reason : null);
                update.setString(3, path);
                if (update.executeUpdate() == 0) {
                    return false;
                }
            }
            insertEvents(c, List.of(PendingEvent.of(new HistoryEvent(path, at, pinned ? "pinned" : "unpinned", reason))));
            return true;
        });
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                connection.close();
            }
        } catch (SQLException e) {
            throw new RegistryException(database, "closing failed: " + describe(e), e);
        } finally {
            lock.unlock();
        }
    }

    private static Checkpoint checkpoint(ResultSet rs) throws SQLException {
        String path = rs.getString(1);
        try {
            long epoch = rs.getLong(9);
            Integer epochValue = rs.wasNull() ? null : Math.toIntExact(epoch);
            long step = rs.getLong(10);
            Long stepValue = rs.wasNull() ? null : step;
            String metrics = rs.getString(11);
            int resumable = rs.getInt(14);
            Boolean resumableValue = rs.wasNull() ? null : resumable != 0;
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
                    paths(strings(rs.getString(23))),
                    rs.getInt(16) != 0,
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
        return "[]".equals(json) ? List.of() : Json.MAPPER.readValue(json, STRING_LIST);
    }

    private static String json(List<String> strings) {
        if (strings.isEmpty()) {
            return "[]";
        }
        try {
            return Json.MAPPER.writeValueAsString(strings);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a list of strings always serialises", e);
        }
    }

    @Override
    <T> T read(String what, Work<T> work) {
        lock.lock();
        try {
            ensureOpen();
            return work.run(connection);
        } catch (SQLException e) {
            throw new RegistryException(database, what + " failed: " + describe(e), e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    <T> T write(String what, Work<T> work) {
        return read(what, c -> {
            c.setAutoCommit(false);
            try {
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
            throw new IllegalStateException("registry " + database + " is closed");
        }
    }
}
