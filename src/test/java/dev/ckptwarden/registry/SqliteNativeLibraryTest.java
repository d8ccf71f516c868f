package dev.ckptwarden.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;

class SqliteNativeLibraryTest {

    @TempDir
    Path tmp;

    private static long crc(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return c.getValue();
    }

    @Test
    void aCachedCopyCountsOnlyWithTheJarEntrysSizeAndChecksumAndPrivatePermissions() throws IOException {
        byte[] bytes = "not really a shared library, but bytes to check".getBytes(StandardCharsets.US_ASCII);
        Path copy = Files.write(tmp.resolve("lib.so"), bytes);
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-------"));
        assertThat(SqliteNativeLibrary.isCopy(copy, bytes.length, crc(bytes))).isTrue();

        byte[] tampered = bytes.clone();
        tampered[3] ^= 1;
        assertThat(SqliteNativeLibrary.isCopy(copy, bytes.length, crc(tampered))).as("other content").isFalse();
        assertThat(SqliteNativeLibrary.isCopy(copy, bytes.length + 1, crc(bytes))).as("other size").isFalse();
        assertThat(SqliteNativeLibrary.isCopy(tmp.resolve("absent.so"), bytes.length, crc(bytes))).isFalse();

        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-rw-r--"));
        assertThat(SqliteNativeLibrary.isCopy(copy, bytes.length, crc(bytes))).as("group-writable").isFalse();
    }

    /** Runs the real launcher entry point (which caches the library) in a new JVM, as a user's shell would. */
    private int ckptWarden(Path cacheHome, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.ckptwarden.cli.Main"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("out.txt").toFile());
        pb.environment().put("XDG_CACHE_HOME", cacheHome.toString());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    private static List<Path> cached(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void theCommandLineUnpacksTheLibraryOnceAndReplacesADamagedCopy() throws Exception {
        Path cacheHome = tmp.resolve("cache");
        Path config = Files.writeString(tmp.resolve("c.yaml"), "agent:\n  state_dir: " + tmp.resolve("state")
                + "\nroots:\n  - path: " + Files.createDirectories(tmp.resolve("root")) + "\n");

        assertThat(ckptWarden(cacheHome, "ls", "--config", config.toString()))
                .as(Files.readString(tmp.resolve("out.txt"))).isZero();
        Path dir = cacheHome.resolve("ckpt-warden");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        List<Path> libraries = cached(dir).stream().filter(f -> f.toString().endsWith(".so")).toList();
        assertThat(libraries).hasSize(1);
        Path library = libraries.get(0);
        // Where the jar keeps this platform's library is remembered (finding out runs `uname`).
        List<Path> memos = cached(dir).stream().filter(f -> f.getFileName().toString().startsWith("resource-")).toList();
        assertThat(memos).hasSize(1);
        assertThat(Files.readString(memos.get(0)).trim()).startsWith("/org/sqlite/native/").endsWith("/libsqlitejdbc.so");
        byte[] good = Files.readAllBytes(library);
        assertThat(library.getFileName().toString()).isEqualTo(String.format("%08x-%d-libsqlitejdbc.so", crc(good), good.length));

        byte[] damaged = good.clone();
        damaged[damaged.length / 2] ^= 0x55;
        Files.write(library, damaged);
        Files.writeString(memos.get(0), "/somewhere/else.so\n");
        assertThat(ckptWarden(cacheHome, "ls", "--config", config.toString()))
                .as(Files.readString(tmp.resolve("out.txt"))).isZero();
        assertThat(cached(dir)).containsExactlyInAnyOrder(library, memos.get(0));
        assertThat(Files.readAllBytes(library)).isEqualTo(good);
        assertThat(Files.readString(memos.get(0)).trim()).startsWith("/org/sqlite/native/");
    }

    @Test
    void aCacheDirectoryOthersCanWriteIsNotUsedAndTheCommandStillWorks() throws Exception {
        Path cacheHome = tmp.resolve("cache");
        Path dir = Files.createDirectories(cacheHome.resolve("ckpt-warden"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path config = Files.writeString(tmp.resolve("c.yaml"), "agent:\n  state_dir: " + tmp.resolve("state")
                + "\nroots:\n  - path: " + Files.createDirectories(tmp.resolve("root")) + "\n");

        assertThat(ckptWarden(cacheHome, "ls", "--config", config.toString()))
                .as(Files.readString(tmp.resolve("out.txt"))).isZero();
        assertThat(cached(dir)).isEmpty();
    }
}
