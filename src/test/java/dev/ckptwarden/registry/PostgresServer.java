package dev.ckptwarden.registry;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A private PostgreSQL server for tests: the machine's own binaries ({@code /usr/lib/postgresql/N/bin},
 * or the directory the system property {@code ckptwarden.pgbin} names), a cluster initialised in a
 * temporary directory, listening on 127.0.0.1 on a free port, password authentication over TCP. Started
 * once per test JVM, stopped at exit; each test takes a fresh database. initdb refuses to run as root,
 * so as root the server runs as the {@code postgres} user. Where none of that works, tests that need it
 * are skipped with the reason.
 */
public final class PostgresServer implements AutoCloseable {

    /** The superuser tests connect as; its password is given through PGPASSWORD, as an operator would. */
    public static final String USER = "ckpt";
    private static final String PASSWORD = "test-password-7f3a";
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static PostgresServer shared;
    private static String unavailable;

    private final Path dir;
    private final Path bin;
    private final List<String> asOwner;
    private final int port;

    private PostgresServer(Path dir, Path bin, List<String> asOwner, int port) {
        this.dir = dir;
        this.bin = bin;
        this.asOwner = asOwner;
        this.port = port;
    }

    /** The server, started on first use; skips the calling test when no server can be had here. */
    public static synchronized PostgresServer shared() {
        if (shared == null && unavailable == null) {
            try {
                shared = start();
                Runtime.getRuntime().addShutdownHook(new Thread(shared::stop, "postgres-test-server-stop"));
            } catch (IOException | RuntimeException e) {
                unavailable = e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                unavailable = "interrupted while starting PostgreSQL";
            }
        }
        Assumptions.assumeTrue(unavailable == null, () -> "no PostgreSQL test server: " + unavailable);
        return shared;
    }

    /**
     * A server of the caller's own, which it may stop and start again ({@link #pause()}, {@link #resume()})
     * without disturbing other tests; {@link #close()} removes it. Skips the calling test where none can be had.
     */
    public static PostgresServer dedicated() {
        try {
            return start();
        } catch (IOException | RuntimeException e) {
            Assumptions.abort("no PostgreSQL test server: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Assumptions.abort("interrupted while starting PostgreSQL");
        }
        throw new AssertionError("unreachable");
    }

    private static Path binaries() {
        String configured = System.getProperty("ckptwarden.pgbin");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(debian)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(debian)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(b -> versionOf(b.getParent().getFileName().toString())))
                    .orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    private static int versionOf(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static PostgresServer start() throws IOException, InterruptedException {
        Path bin = binaries();
        if (bin == null) {
            throw new IOException("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin"
                    + " (apt-get install postgresql, or -Dckptwarden.pgbin=DIR)");
        }
        Path dir = Files.createTempDirectory("ckpt-warden-pg");
        List<String> asOwner = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            UserPrincipal postgres;
            try {
                postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
            } catch (IOException e) {
                throw new IOException("running as root and there is no postgres user to run initdb as");
            }
            Files.setOwner(dir, postgres);
            asOwner.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        // As root, the directory stays in root's group: a run without CAP_DAC_OVERRIDE (bench/sim-campaign.sh, so
        // that chmod 000 binds) still writes the password files into it (only data/ must be 0700, initdb makes it).
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(asOwner.isEmpty() ? "rwx------" : "rwxrwx---"));
        Path pwfile = dir.resolve("pwfile");
        Files.writeString(pwfile, PASSWORD + "\n", StandardCharsets.UTF_8);
        if (!asOwner.isEmpty()) {
            Files.setOwner(pwfile, Files.getOwner(dir));
        }
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        PostgresServer server = new PostgresServer(dir, bin, asOwner, port);
        server.run(60, bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", USER,
                "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-sync");
        server.pgCtlStart();
        return server;
    }

    private void pgCtlStart() throws IOException, InterruptedException {
        run(60, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l",
                dir.resolve("server.log").toString(), "-w", "-t", "60", "-o",
                "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
                        + " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                "start");
    }

    /** Stops the server (clients are disconnected, new connections refused) until {@link #resume()}. */
    public void pause() throws IOException, InterruptedException {
        run(30, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "stop");
    }

    /** Starts the server again on the same port, with the same data. */
    public void resume() throws IOException, InterruptedException {
        pgCtlStart();
    }

    @Override
    public void close() {
        stop();
    }

    private void run(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(asOwner);
        full.addAll(List.of(command));
        Path out = Files.createTempFile("ckpt-warden-pg", ".out");
        try {
            Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(out.toFile())
                    .directory(dir.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(Path.of(command[0]).getFileName() + " did not finish in " + timeoutSeconds + " s");
            }
            if (p.exitValue() != 0) {
                String output = Files.readString(out).strip();
                throw new IOException(Path.of(command[0]).getFileName() + " failed (exit " + p.exitValue() + "): "
                        + output.substring(Math.max(0, output.length() - 500)).replaceAll("\\s+", " "));
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private void stop() {
        try {
            run(30, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "stop");
        } catch (IOException e) {
            System.err.println("stopping the PostgreSQL test server: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("removing " + dir + ": " + e.getMessage());
        }
    }

    public int port() {
        return port;
    }

    /**
     * A new, empty database; its JDBC URL names the user but no password. Its default collation is
     * ICU's en-US where the server has ICU (it sorts "a" before "B"), so that a registry that relied on
     * the database's locale for byte order would fail its tests here.
     */
    public String freshDatabase() {
        String name = "t" + DATABASES.incrementAndGet();
        try (Connection c = connect(url("postgres")); Statement s = c.createStatement()) {
            try {
                s.execute("CREATE DATABASE " + name + " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                        + " LOCALE 'C.UTF-8'");
            } catch (SQLException noIcu) {
                s.execute("CREATE DATABASE " + name);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("creating test database " + name + ": " + e.getMessage(), e);
        }
        return url(name);
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + USER;
    }

    /** What an operator's environment would hold: the password in PGPASSWORD. */
    public Map<String, String> env() {
        return Map.of("PGPASSWORD", PASSWORD);
    }

    /** Writes a {@code ~/.pgpass}-style file in {@code dir} that gives this server's password. */
    public Path passwordFile(Path dir) throws IOException {
        Path file = dir.resolve("pgpass");
        Files.writeString(file, "127.0.0.1:" + port + ":*:" + USER + ":" + PASSWORD + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    /** A plain connection, for a test to look at or change the database behind the registry's back. */
    public Connection connect(String url) throws SQLException {
        Properties p = new Properties();
        p.setProperty("password", PASSWORD);
        return DriverManager.getConnection(url, p);
    }

    /** Runs one statement as the superuser in the given database. */
    public void execute(String url, String sql) {
        try (Connection c = connect(url); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }
}
