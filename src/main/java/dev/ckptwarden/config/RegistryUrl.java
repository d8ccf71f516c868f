package dev.ckptwarden.config;

import java.util.regex.Pattern;

/**
 * What {@code agent.registry_url} may be: {@code ""} (the embedded database in {@code state_dir}) or a
 * PostgreSQL JDBC URL without a password. One check for the configuration (so that
 * {@code check-config} refuses what the agent would refuse, naming the line) and for the registry
 * that opens the URL.
 */
public final class RegistryUrl {
    public static final String POSTGRES_PREFIX = "jdbc:postgresql:";
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("[?&]password=", Pattern.CASE_INSENSITIVE);
    static final String PASSWORD_PROBLEM = "must not carry a password: put it in PGPASSWORD or in ~/.pgpass (or the "
            + "file PGPASSFILE names)";

    private RegistryUrl() {
    }

    /** Why {@code url} cannot be used, or null when it can (blank: the embedded database). */
    public static String problem(String url) {
        String u = url == null ? "" : url.strip();
        if (u.isEmpty()) {
            return null;
        }
        if (!u.startsWith(POSTGRES_PREFIX) || u.length() == POSTGRES_PREFIX.length()) {
            return "expected \"\" (embedded database in state_dir) or a PostgreSQL URL like "
                    + "jdbc:postgresql://db-host/ckpt_warden, got '" + url + "'";
        }
        return carriesPassword(u) ? PASSWORD_PROBLEM : null;
    }

    /** A password given in the URL's text ({@code ?password=} or {@code &password=}, any case). */
    public static boolean carriesPassword(String url) {
        return PASSWORD_PARAMETER.matcher(url).find();
    }
}
