package dev.ckptwarden.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code install.sh} dumps the class-data archive that every start of the installed launcher maps. A JVM maps a
 * cut-short archive that matches its class path and crashes (a fatal error at every start), so the archive
 * must appear at {@code lib/ckpt-warden.jsa} whole or not at all, even when the installer is killed while the
 * JVM writes it. Runs the real script from the source tree on a release layout whose {@code java} is a stand-in
 * that writes the archive the way a JVM does, at its exit.
 */
class ClassDataArchiveInstallTest {
    @TempDir
    Path tmp;

    @Test
    void anInstallKilledWhileTheArchiveIsWrittenLeavesNoArchiveThatStartsWouldMap() throws Exception {
        // Part of an archive, then the whole installation killed (the process group, as a reboot or kill -9 does).
        Path dest = install("head -c 65536 /dev/zero > \"$out\"; kill -KILL 0");
        assertThat(dest.resolve("lib/ckpt-warden.jsa")).as("a cut-short archive where the launcher maps it")
                .doesNotExist();
    }

    @Test
    void aWholeArchiveIsInstalledWhereTheLauncherMapsIt() throws Exception {
        Path dest = install("printf 'whole archive' > \"$out\"");
        assertThat(dest.resolve("lib/ckpt-warden.jsa")).hasContent("whole archive");
        try (var lib = Files.list(dest.resolve("lib"))) {
            assertThat(lib.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("ckpt-warden-0.0.0.jar",
                    "ckpt-warden.jsa");
        }
    }

    /**
     * Runs {@code install.sh --root} of a release layout in a process group of its own, with a {@code java} that
     * runs {@code dump} (a shell snippet; {@code $out} is the archive's path) when asked to dump an archive and
     * does nothing otherwise; returns the installed prefix.
     */
    private Path install(String dump) throws IOException, InterruptedException {
        Path release = Files.createDirectories(tmp.resolve("release"));
        Path assembly = Path.of("src", "assembly");
        copy(assembly.resolve("install.sh"), release.resolve("install.sh"));
        copy(assembly.resolve("uninstall.sh"), release.resolve("uninstall.sh"));
        copy(assembly.resolve("ckpt-warden.yaml"), release.resolve("conf/ckpt-warden.yaml"));
        copy(Path.of("bin", "ckpt-warden"), release.resolve("bin/ckpt-warden"));
        copy(Path.of("conf", "logback.xml"), release.resolve("conf/logback.xml"));
        copy(Path.of("conf", "logback-json.xml"), release.resolve("conf/logback-json.xml"));
        copy(Path.of("README.md"), release.resolve("README.md"));
        for (String f : List.of("ckpt-warden.service", "ckpt-warden.sysusers", "ckpt-warden.tmpfiles")) {
            copy(Path.of("systemd", f), release.resolve("systemd").resolve(f));
        }
        Files.createDirectories(release.resolve("lib"));
        Files.createFile(release.resolve("lib/ckpt-warden-0.0.0.jar"));

        Path jdk = Files.createDirectories(tmp.resolve("jdk/bin")).getParent();
        Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
        Path java = Files.writeString(jdk.resolve("bin/java"), """
                #!/usr/bin/env bash
                out=
                for a in "$@"; do case $a in -XX:ArchiveClassesAtExit=*) out=${a#*=} ;; esac; done
                if [[ -n $out ]]; then %s; fi
                exit 0
                """.formatted(dump));
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path root = Files.createDirectories(tmp.resolve("root"));
        ProcessBuilder pb = new ProcessBuilder("setsid", "bash", release.resolve("install.sh").toString(), "--root",
                root.toString(), "--prefix", "/opt/cw", "--etc", "/etc/cw", "--no-systemd")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("install.out").toFile());
        pb.environment().put("JAVA_HOME", jdk.toString());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("install.sh ended: " + Files.readString(tmp.resolve("install.out")))
                .isTrue();
        return root.resolve("opt/cw");
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
    }
}
