package dev.ckptwarden.enforce;

import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** An eviction that an I/O error stops says which file it could not move, and why, in its outcome. */
class EvictionIoFailureTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private Path immutable;

    @AfterEach
    void letGo() throws Exception {
        if (immutable != null) {
            chattr("-i", immutable);
        }
    }

    @Test
    void aCheckpointFileThatCannotBeMovedIsNamedInTheFailure() throws Exception {
        EnforcementReport report;
        try (Site site = new Site(rootDir, stateDir)) {
            Path run = Files.createDirectories(site.root.resolve("runs/a"));
            Path ckpt = TreeBuilder.lightningCkpt(run.resolve("epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
            site.reconcile();
            // Immutable: renaming it into the trash fails with EPERM even for root.
            assumeTrue(chattr("+i", ckpt), "chattr +i (root, on a file system with attributes) is needed");
            immutable = ckpt;

            report = site.enforce(false, site.eviction(ckpt));
        }

        assertThat(report.items()).singleElement()
                .satisfies(i -> assertThat(i.outcome()).isEqualTo("failed:epoch=1-step=10.ckpt: Operation not permitted"));
    }

    private static boolean chattr(String flag, Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }
}
