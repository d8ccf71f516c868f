package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The audit log on a file system that fills up mid-pass (a real 64 KiB tmpfs): an eviction whose
 * end line cannot be written is not deleted from the trash, and the next start writes the end line
 * and only then deletes it; the log stays parseable line by line throughout.
 */
class AuditFullDiskTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;
    @TempDir
    Path auditDir;

    private boolean mounted;
    private Site site;
    private AuditLog audit;

    @BeforeEach
    void mountTinyFileSystem() throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", auditDir.toString())
                .redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes());
        mounted = p.waitFor() == 0;
        assumeTrue(mounted, "a tiny tmpfs for the audit log needs mount (root): " + said.strip());
        site = new Site(rootDir, stateDir);
        audit = AuditLog.open(auditDir, site.clock);
    }

    @AfterEach
    void unmount() throws Exception {
        if (site != null) {
            audit.close();
            site.close();
        }
        if (mounted) {
            new ProcessBuilder("umount", auditDir.toString()).inheritIO().start().waitFor();
        }
    }

    private Path filler() {
        return auditDir.resolve("filler");
    }

    /**
     * Fills the file system, then the audit file's last block too: other lines are appended (as
     * another writer of the log would) until one fails.
     */
    private void fillWithTheLogToo() {
        fill();
        try {
            for (int i = 0; ; i++) {
                audit.append(new AuditRecord(null, AuditRecord.END, "filler-" + i, "/elsewhere", "other", null, 0,
                        "manual", "report", List.of(), "ok", null));
            }
        } catch (IOException full) {
            // the log cannot take another line now
        }
    }

    /** Writes until the file system is full. */
    private void fill() {
        byte[] block = new byte[4096];
        try (OutputStream out = Files.newOutputStream(filler())) {
            while (true) {
                out.write(block);
                out.flush();
            }
        } catch (IOException full) {
            // no space left: what this wanted
        }
    }

    @Test
    void anEvictionWhoseEndLineCannotBeWrittenStaysInTheTrashUntilTheNextStartRecordsIt() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        Enforcer filling = new Enforcer(site.registry, audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                fillWithTheLogToo();
            }
        });

        EnforcementReport r = filling.enforce(site.rootConfig, site.root, List.of(site.eviction(ckpt)), false,
                site.clock.instant());

        assertThat(ckpt).doesNotExist();
        assertThat(r.problems()).anySatisfy(p -> assertThat(p).contains("end line"));
        Path trash = site.root.resolve(TrashBin.DIR_NAME);
        try (var s = Files.list(trash)) {
            assertThat(s.map(p -> p.getFileName().toString())).anyMatch(n -> n.endsWith(TrashBin.MANIFEST_SUFFIX));
        }
        List<AuditRecord> before = AuditLog.read(audit.file()); // parseable although an append failed
        String id = before.get(0).eviction();

        Files.delete(filler());
        EnforcementReport recovered = new Enforcer(site.registry, audit).recover(site.rootConfig, site.root,
                site.clock.instant());

        assertThat(recovered.problems()).isEmpty();
        assertThat(AuditLog.read(audit.file())).filteredOn(a -> !a.eviction().startsWith("filler-"))
                .extracting(AuditRecord::phase, AuditRecord::eviction).containsExactly(
                org.assertj.core.groups.Tuple.tuple("begin", id), org.assertj.core.groups.Tuple.tuple("end", id));
        try (var s = Files.list(trash)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly(TrashBin.LOCK_NAME);
        }
        assertThat(site.registered(ckpt).state()).isEqualTo(CheckpointState.DELETED);
    }

    @Test
    void aFullDiskBeforeTheBeginLineMovesNothing() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        ManifestKey.open(auditDir); // made at the first eviction, long before the disk filled
        fill();

        EnforcementReport.Item item = new Enforcer(site.registry, audit).enforce(site.rootConfig, site.root,
                List.of(site.eviction(ckpt)), false, site.clock.instant()).items().get(0);

        assertThat(item.outcome()).isEqualTo("failed:audit log unavailable");
        assertThat(ckpt).exists();
        Files.delete(filler());
        try (AuditLog reopened = AuditLog.open(auditDir, site.clock)) {
            assertThat(AuditLog.read(reopened.file())).isEmpty();
        }
    }
}
