package dev.ckptwarden.registry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The random id a registry database got when its schema was created (table {@code registry_identity}),
 * as this process remembered it when it opened the database. A database dropped and created again,
 * re-initialised or swapped for another under a running agent has another id, or no table at all:
 * asked before each deletion batch, that tells the agent the registry it plans from is not the one it
 * knew (pins, history and the lease's fencing token started over), which a look at the checkpoints
 * cannot tell once the agent's own reconcile has registered them again.
 *
 * <p>Thread-safety: the remembered id is volatile; {@link JournaledRegistry#deletionHold()}, the one caller of
 * {@link #changed()}, is synchronized, so that a replacement is reported once.
 */
final class RegistryIdentity {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryIdentity.class);
    private static final String SELECT = "SELECT id FROM registry_identity";
    /** What is remembered of a database without an id row, and of one without the table. */
    private static final String NONE = "none";
    private static final String GONE = "gone";

    private final JdbcRegistry registry;
    private final String where;
    private volatile String remembered;

    private RegistryIdentity(JdbcRegistry registry, String where, String remembered) {
        this.registry = registry;
        this.where = where;
        this.remembered = remembered;
    }

    /**
     * The identity of {@code registry} as it is now, or null for a registry that keeps none (not a
     * database of ours: nothing to compare).
     *
     * @throws RegistryException when the database cannot be read
     */
    static RegistryIdentity remember(Registry registry) {
        if (!(registry instanceof JdbcRegistry jdbc)) {
            return null;
        }
        String where = jdbc instanceof PostgresRegistry pg ? pg.location()
                : jdbc instanceof SqliteRegistry sqlite ? sqlite.database().toString() : jdbc.getClass().getSimpleName();
        return new RegistryIdentity(jdbc, where, read(jdbc));
    }

    /**
     * Why the database is no longer the one remembered, or null while it is. After a change the new
     * identity is remembered, so that each replacement is reported once (the caller keeps the hold).
     *
     * @throws RegistryException when the database cannot be asked (an outage, not a replacement)
     */
    String changed() {
        // A SQLite file renamed over: the open connection still sees the old file, so look at the name first.
        String now;
        try {
            now = read(registry);
        } catch (RegistryException e) {
            if (!missingTable(e)) {
                throw e;
            }
            now = GONE;
        }
        // A SQLite file renamed over is reopened by the registry at its next use (the read above at the latest).
        String swapped = registry instanceof SqliteRegistry sqlite ? sqlite.takeReplacement() : null;
        String before = remembered;
        if (now.equals(before)) {
            if (swapped != null) {
                LOG.warn("{}; it is the same registry (identity {}), now reopened", swapped, now);
            }
            return null;
        }
        remembered = now;
        if (now.equals(GONE)) {
            return "the registry " + where + " was emptied while this agent ran (its tables are gone):"
                    + " pins, history and the lease are lost";
        }
        return (swapped != null ? swapped + ", and " : "") + "the registry " + where + " was replaced while this agent ran"
                + " (identity " + before + " when opened, " + now + " now): what it held (pins, history, the cluster lease)"
                + " started over";
    }

    private static String read(JdbcRegistry registry) {
        return registry.read("reading the registry identity", c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(SELECT)) {
                String id = rs.next() ? rs.getString(1) : null;
                return id == null ? NONE : id;
            }
        });
    }

    /** PostgreSQL's undefined_table, SQLite's "no such table". */
    private static boolean missingTable(RegistryException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && ("42P01".equals(sql.getSQLState())
                    || String.valueOf(sql.getMessage()).contains("no such table"))) {
                return true;
            }
        }
        return false;
    }
}
