package dev.ckptwarden.registry;

import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@link SqliteRegistry}'s errors as the one line a user can act on (a full disk, a locked or foreign file). */
final class SqliteErrors {
    private SqliteErrors() {
    }

    /** Below this much free space where the database lives, a write SQLite rolled back is put down to a full disk. */
    private static final long NEARLY_FULL = 1 << 20;

    /**
     * As {@link #describe(Exception)}, for an error during a write: SQLite rolls a transaction back by itself
     * after SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or SQLITE_NOMEM in a statement (sqlite.org/lang_transaction.html),
     * and the commit that follows then says only "cannot commit - no transaction is active". Which of them it
     * was is no longer known; free space where {@code database} lives tells the likely one.
     */
    static String describe(Exception e, Path database) {
        if (e.getMessage() != null && e.getMessage().contains("no transaction is active")) {
            long free;
            try {
                free = Files.getFileStore(database.toAbsolutePath().getParent()).getUsableSpace();
            } catch (IOException | RuntimeException unknown) {
                free = -1;
            }
            if (free >= 0 && free < NEARLY_FULL) {
                return "the disk holding the database is full (" + free + " bytes free); SQLite rolled the write back: "
                        + "free space there";
            }
            return "SQLite rolled the write back after an I/O error, a full disk or a lock held too long; nothing of it "
                    + "was written";
        }
        return describe(e);
    }

    /**
     * A one-line account of a database error that a user can act on. Not {@code ErrorLine}: the words come
     * from SQLite's result code (what to do about a full disk, a lock, a foreign file), not from a file exception.
     */
    static String describe(Exception e) {
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
                    return "the database stayed locked by another process for " + SqliteRegistry.BUSY_TIMEOUT.toSeconds() + " s";
                case SQLITE_FULL:
                    return "the disk holding the database is full";
                default:
                    break;
            }
        }
        return Schema.oneLine(e.getMessage());
    }
}
