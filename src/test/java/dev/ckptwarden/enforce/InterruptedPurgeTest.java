package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An agent killed after an eviction's {@code end} line was forced to disk but before its trash was purged
 * (the manifest and the members still in the trash): the next start purges them and records nothing twice.
 */
class InterruptedPurgeTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    @Test
    void anEvictionKilledBetweenItsEndLineAndThePurgeIsPurgedWithoutASecondEndLine() throws IOException {
        Path old;
        List<Path> kept = new ArrayList<>();
        try (Site site = new Site(rootDir, stateDir)) {
            old = TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
            TreeBuilder.lightningCkpt(site.root.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, Site.T0);
            site.reconcile();
            Path trash = site.root.resolve(TrashBin.DIR_NAME);
            Path aside = Files.createDirectories(stateDir.resolveSibling(stateDir.getFileName() + "-aside"));
            // At the rename the manifest and the member are in the trash: keep a link to each, and put them back
            // after the pass, which is the trash as a kill between the end lines and the purge leaves it.
            Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
                @Override
                public void renamed(Path checkpoint, String member) {
                    try (Stream<Path> s = Files.list(trash)) {
                        for (Path p : s.filter(p -> !p.getFileName().toString().equals(TrashBin.LOCK_NAME)).toList()) {
                            kept.add(Files.createLink(aside.resolve(p.getFileName()), p));
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            EnforcementReport pass = enforcer.enforce(site.rootConfig, site.root, List.of(site.eviction(old)), false,
                    site.clock.instant());
            assertThat(pass.items()).singleElement().satisfies(i -> assertThat(i.outcome()).isEqualTo("ok"));
            assertThat(kept).hasSize(2); // the manifest and the member
            for (Path p : kept) {
                Files.createLink(trash.resolve(p.getFileName()), p);
            }
        }

        try (Site restarted = new Site(rootDir, stateDir)) {
            EnforcementReport recovery = restarted.enforcer().recover(restarted.rootConfig, restarted.root,
                    restarted.clock.instant());

            assertThat(recovery.problems()).isEmpty();
            assertThat(recovery.items()).as("nothing left to finish: the eviction had ended").isEmpty();
            List<AuditRecord> lines = restarted.auditLines();
            assertThat(lines).extracting(AuditRecord::phase).as("one begin and one end").containsExactly(AuditRecord.BEGIN,
                    AuditRecord.END);
            assertThat(restarted.registered(old).state()).isEqualTo(CheckpointState.DELETED);
            try (Stream<Path> s = Files.list(restarted.root.resolve(TrashBin.DIR_NAME))) {
                assertThat(s.map(p -> p.getFileName().toString())).as("trash purged").containsOnly(TrashBin.LOCK_NAME);
            }
        }
    }
}
