package dev.ckptwarden.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
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
 * <p>What upsert keeps of a stored row, the history events the registry writes and the {@link #list}
 * order are the same as on PostgreSQL and live in the shared JDBC code ({@code JdbcRegistry},
 * {@code UpsertMerge}); here is only what SQLite does its own way: opening the file, its error
 * messages, one connection under a lock, and a faster read of a root's present rows. History rows must
 * belong to a registered path (a foreign key).
 */
public final class SqliteRegistry extends JdbcRegistry {

    /** File name of the database inside the state directory. */
    public static final String FILE_NAME = "registry.db";

    /** How long a statement waits for another process's write lock before failing. */
    public static final Duration BUSY_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(SqliteRegistry.class);

    private final Path database;
    /** Replaced only by {@link #reopenIfReplaced()}; used under {@link #lock}. */
    private Connection connection;
    /** The identity on disk (device and inode) of the file {@link #connection} has open. */
    private Object fileKey;
    /** Set when the file was found replaced and reopened, until {@link #takeReplacement()}; under {@link #lock}. */
    private String replacement;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean closed;

    private SqliteRegistry(Path database, Clock clock, Connection connection, Object fileKey) {
        super(clock);
        this.database = database;
        this.connection = connection;
        this.fileKey = fileKey;
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
            return new SqliteRegistry(database, clock, connection, fileKey(database));
        } catch (SQLException | RuntimeException e) {
            try {
                connection.close();
            } catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            if (e instanceof RegistryException registryException) {
                throw registryException;
            }
            throw new RegistryException(database, SqliteErrors.describe(e), e);
        }
    }

    /** The database file. */
    public Path database() {
        return database;
    }

    /** Device and inode of the file at {@code database} now, or null when there is none. */
    private static Object fileKey(Path database) {
        try {
            return Files.readAttributes(database, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * When the name {@code registry.db} no longer leads to the file this registry has open (another file was
     * renamed over it, or it was moved or deleted away), closes the old file and opens, migrating or creating
     * it, the one that has the name now: an open SQLite connection keeps reading and writing the inode it
     * opened, unlinked or not, and would never see that it was replaced. {@link RegistryIdentity} then tells
     * whether the file now there is the same registry (a copy of it restored) or another.
     *
     * <p>Asked before every unit of work (one {@code stat}), so that nothing the agent learns after the swap
     * goes to the unlinked file; what happened waits in {@link #takeReplacement()} for the next deletion batch's
     * identity check, which says it in one line.
     *
     * @throws RegistryException when the file now there cannot be opened as a registry
     */
    private void reopenIfReplaced() {
        Object now = fileKey(database);
        if (now != null && now.equals(fileKey)) {
            return;
        }
        String what = now == null ? "the registry file " + database + " was removed while this agent ran"
                : "the registry file " + database + " was replaced on disk while this agent ran (another file has its name)";
        // The old file's write-ahead log has the name the new file's will have, and SQLite does not always
        // remove it when an unlinked file is closed: left with frames, it would be read as the new file's
        // pages. Emptied first, it holds nothing for the new file to read.
        try (Statement s = connection.isClosed() ? null : connection.createStatement();
             ResultSet rs = s == null ? null : s.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
            if (rs != null && rs.next() && rs.getInt(1) != 0) {
                throw new RegistryException(database, what + "; not reopened yet: another process still reads the"
                        + " replaced file's write-ahead log");
            }
        } catch (SQLException e) {
            throw new RegistryException(database, what + "; not reopened: " + SqliteErrors.describe(e), e);
        }
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.debug("closing the replaced registry file: {}", e.getMessage());
        }
        Connection reopened = connect(database);
        try {
            Schema.upgrade(reopened, database);
        } catch (SQLException | RuntimeException e) {
            try {
                reopened.close();
            } catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            throw e instanceof RegistryException r ? r : new RegistryException(database, what + "; it cannot be opened: "
                    + SqliteErrors.describe(e), e);
        }
        connection = reopened;
        fileKey = fileKey(database);
        replacement = replacement == null ? what : replacement;
    }

    /** What happened to the file since the last call (it was replaced or removed, and reopened), or null. */
    String takeReplacement() {
        lock.lock();
        try {
            String what = replacement;
            replacement = null;
            return what;
        } finally {
            lock.unlock();
        }
    }

    /** The schema version this build creates and understands. */
    public static int schemaVersion() {
        return Schema.CURRENT_VERSION;
    }

    private static void prepareDirectory(Path dir, Path database) {
        try {
            // Private, as run and enforce require of state_dir (StateDirectory): made group-writable under a umask
            // of 002 by the first command that opens the registry (scan, ls), it refused every later start.
            Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
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
            throw new RegistryException(database, SqliteErrors.describe(e), e);
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
            throw new RegistryException(database, SqliteErrors.describe(e), e);
        }
        return connection;
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
    public Map<String, Registered> present(String root) {
        Objects.requireNonNull(root, "root");
        return read("present(" + root + ")", c -> {
            Map<String, Registered> packed = presentPacked(c, root);
            return packed != null ? packed : presentByColumn(c, root);
        });
    }

    /** Columns that may hold NULL; in a packed row they are written as '=' + value, or empty for NULL. */
    private static final java.util.Set<String> NULLABLE = java.util.Set.of("epoch", "step", "modified", "resumable",
            "alias_of", "pin_reason", "signature", "note");
    private static final int COLUMN_COUNT = CheckpointRows.COLUMN_NAMES.size();
    /**
     * One text per row, its columns separated by NUL (which no path, name or note can hold): sqlite-jdbc
     * crosses JNI twice for every column it reads, and 23 columns of 20,000 rows that way were most of a
     * warm scan's registry read. Same columns and order as {@link CheckpointRows#COLUMNS}.
     */
    private static final String PACKED_PRESENT = "SELECT " + CheckpointRows.COLUMN_NAMES.stream()
            .map(column -> NULLABLE.contains(column) ? "ifnull('=' || " + column + ", '')" : column)
            .collect(Collectors.joining(" || char(0) || ")) + " FROM checkpoints WHERE root = ? AND state IN "
            + CheckpointRows.PRESENT_STATES;

    /** No ORDER BY: the caller looks rows up by path. Null when a row does not unpack (then read column by column). */
    private static Map<String, Registered> presentPacked(Connection c, String root) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(PACKED_PRESENT)) {
            select.setString(1, root);
            Map<String, Registered> found = new HashMap<>();
            String[] fields = new String[COLUMN_COUNT];
            // Rows of one root share their root and run names and mostly a handful of first-seen and
            // state-since times: one object each instead of one per row (the agent keeps these rows).
            Map<String, Object> shared = new HashMap<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    Registered checkpoint = unpack(rs.getString(1), fields, shared);
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
    private static Registered unpack(String row, String[] f, Map<String, Object> shared) {
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
            return new Registered(new Checkpoint(
                    (String) shared.computeIfAbsent(f[1], k -> k),
                    (String) shared.computeIfAbsent(f[2], k -> k),
                    f[3],
                    Path.of(f[0]),
                    CheckpointRows.strings(f[4]),
                    Framework.fromId(f[5]),
                    CheckpointKind.fromId(f[6]),
                    epoch == null ? null : Integer.valueOf(epoch),
                    step == null ? null : Long.valueOf(step),
                    MetricsJson.parse(f[10]),
                    Long.parseLong(f[11]),
                    InstantText.parse(nullable(f[12])),
                    resumable == null ? null : Long.parseLong(resumable) != 0,
                    aliasOf == null ? null : Path.of(aliasOf),
                    CheckpointRows.paths(CheckpointRows.strings(f[22])),
                    CheckpointRows.strings(f[17]),
                    nullable(f[18])),
                    CheckpointState.fromId(f[7]),
                    nullable(f[21]),
                    Long.parseLong(f[15]) != 0,
                    nullable(f[16]),
                    (Instant) shared.computeIfAbsent("\0" + f[19], k -> InstantText.parse(f[19])),
                    (Instant) shared.computeIfAbsent("\0" + f[20], k -> InstantText.parse(f[20])));
        } catch (JsonProcessingException | RuntimeException e) {
            return null; // the column reader names what is wrong with the row
        }
    }

    private static String nullable(String packed) {
        return packed.isEmpty() ? null : packed.substring(1);
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
            throw new RegistryException(database, "closing failed: " + SqliteErrors.describe(e), e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    <T> T read(String what, Work<T> work) {
        lock.lock();
        try {
            ensureOpen();
            reopenIfReplaced();
            return work.run(connection);
        } catch (SQLException e) {
            throw new RegistryException(database, what + " failed: " + SqliteErrors.describe(e, database), e);
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("registry " + database + " is closed");
        }
    }
}
