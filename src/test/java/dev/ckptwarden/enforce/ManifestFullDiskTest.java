package dev.ckptwarden.enforce;

import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A root on a file system that is full when an eviction writes its manifest (a real 1 MiB tmpfs): the
 * eviction fails, nothing moves, and the trash holds no half-written manifest afterwards (found by the
 * simulation, seed 500084: a {@code .manifest.partial} stayed in the trash until the agent's next start).
 */
class ManifestFullDiskTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private boolean mounted;
    private Site site;

    @BeforeEach
    void mountTinyRoot() throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", rootDir.toString())
                .redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes());
        mounted = p.waitFor() == 0;
        assumeTrue(mounted, "a tiny tmpfs for the root needs mount (root): " + said.strip());
        site = new Site(rootDir, stateDir);
    }

    @AfterEach
    void unmount() throws Exception {
        if (site != null) {
            site.close();
        }
        if (mounted) {
            new ProcessBuilder("umount", rootDir.toString()).inheritIO().start().waitFor();
        }
    }

    /** Writes until the root's file system has not one block left. */
    private void fill() {
        byte[] block = new byte[4096];
        try (OutputStream out = Files.newOutputStream(rootDir.resolve("filler"))) {
            while (true) {
                out.write(block);
                out.flush();
            }
        } catch (IOException full) {
            // no space left: what this wanted
        }
    }

    @Test
    void anEvictionWhoseManifestCannotBeWrittenMovesNothingAndLeavesNoPartialManifest() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        Path trash = site.root.resolve(TrashBin.DIR_NAME);
        Files.createDirectories(trash); // the trash of an earlier pass; its manifest is what no longer fits
        fill();

        EnforcementReport.Item item = site.enforceOne(site.eviction(ckpt));

        assertThat(item.outcome()).startsWith("failed");
        assertThat(ckpt).exists();
        try (var s = Files.list(trash)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsOnly(TrashBin.LOCK_NAME);
        }
        assertThat(site.auditLines()).extracting(AuditRecord::phase, AuditRecord::outcome).containsExactly(
                org.assertj.core.groups.Tuple.tuple("begin", null),
                org.assertj.core.groups.Tuple.tuple("end", "failed:No space left on device"));
    }
}
