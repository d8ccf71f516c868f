package dev.ckptwarden.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code install.sh --help} and {@code uninstall.sh --help} (the release tarball's installers, in
 * src/assembly) explain every option on stdout and exit 0, runnable from the source tree: help must
 * not need an unpacked release. A mistake still exits 2 with the usage on stderr.
 */
class InstallScriptsHelpTest {
    private static final Path ASSEMBLY = Path.of("src", "assembly");

    private record Ran(int code, String out, String err) {
    }

    private static Ran bash(String script, String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", ASSEMBLY.resolve(script).toString());
        pb.command().addAll(java.util.List.of(args));
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Ran(p.exitValue(), out, err);
    }

    @Test
    void installHelpExplainsEveryOptionAndThatRootIsAStagingRoot() throws Exception {
        for (String flag : new String[]{"--help", "-h"}) {
            Ran r = bash("install.sh", flag);
            assertThat(r.code()).as(flag + ": " + r).isZero();
            assertThat(r.out()).startsWith("Usage: install.sh").contains("--prefix DIR").contains("--etc DIR")
                    .contains("--systemd-dir DIR").contains("--no-systemd").contains("--root DIR")
                    .contains("DESTDIR").contains("/opt/ckpt-warden").contains("Example");
            assertThat(r.err()).isEmpty();
        }
    }

    @Test
    void uninstallHelpExplainsEveryOption() throws Exception {
        Ran r = bash("uninstall.sh", "--help");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("Usage: uninstall.sh").contains("--purge").contains("--prefix DIR")
                .contains("--etc DIR").contains("--systemd-dir DIR").contains("--root DIR").contains("/var/lib/ckpt-warden");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void anUnknownOptionIsStillBadUsageOnStderr() throws Exception {
        Ran r = bash("install.sh", "--prefx", "/opt");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("unknown argument '--prefx'").contains("install.sh --help");
    }
}
