package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A run directory inside a root that is the mount point of another file system (a GPU host's
 * {@code /data/ckpt} with one run on its own NVMe, tmpfs or NFS mount): rename(2) cannot cross
 * into {@code <root>/.ckpt-warden-trash/}, so that run's checkpoints go through a trash of their
 * own, {@code <mount point>/.ckpt-warden-trash/}, held to the same rules as the root's. Real tmpfs
 * mounts; skipped (saying why) where this process may not mount.
 */
class MountedRunTrashTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;

    private Site site;
    private Path root;
    private Path run;
    private Path nested;
    private final List<Path> mounted = new ArrayList<>();

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        root = site.root;
        run = Files.createDirectory(root.resolve("run1"));
        mount(run, "size=20m,mode=0755");
        nested = run.resolve(TrashBin.DIR_NAME);
    }

    @AfterEach
    void close() throws IOException {
        site.close();
        for (int i = mounted.size() - 1; i >= 0; i--) {
            run("umount", "-l", mounted.get(i).toString());
        }
    }

    private void mount(Path dir, String options) throws IOException {
        String said = run("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString());
        assumeTrue(said == null, () -> "mounting a tmpfs is not permitted here (needs root): " + said);
        mounted.add(dir);
    }

    /** Runs a command; null when it succeeded, else what it said. */
    private static String run(String... command) throws IOException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? null : String.join(" ", command) + ": " + said;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private Path ckpt(Path dir, int epoch) throws IOException {
        return TreeBuilder.lightningCkpt(dir.resolve("epoch=" + epoch + "-step=" + epoch * 10 + ".ckpt"), epoch,
                epoch * 10L, true, Site.T0);
    }

    @Test
    void aCheckpointOnAMountedRunDirectoryIsEvictedThroughThatFileSystemsOwnTrash() throws IOException {
        Path old = ckpt(run, 1);
        Path kept = ckpt(run, 2);
        Path onRoot = ckpt(Files.createDirectory(root.resolve("run2")), 1);
        site.reconcile();

        EnforcementReport r = site.enforce(false, site.eviction(old), site.eviction(onRoot));

        assertThat(r.items()).allSatisfy(i -> assertThat(i.outcome()).as(i.path() + " " + i.detail()).isEqualTo("ok"));
        assertThat(r.problems()).isEmpty();
        assertThat(old).doesNotExist();
        assertThat(onRoot).doesNotExist();
        assertThat(kept).exists();
        assertThat(r.items()).allSatisfy(i -> assertThat(i.freed()).isPositive());
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.DELETED);
        // The mount's own trash: the agent's alone, and emptied by the pass like the root's.
        assertThat(Files.getAttribute(nested, "unix:mode")).isEqualTo(040700);
        try (var s = Files.list(nested)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsOnly(TrashBin.LOCK_NAME);
        }
        assertThat(site.auditLines()).extracting(AuditRecord::outcome).containsOnly(null, "ok");
    }

    @Test
    void anEvictionKilledBetweenItsPhasesOnAMountIsFinishedAtTheNextStart() throws IOException {
        assertKilledEvictionIsFinishedAtRestart(run);
    }

    @Test
    void aMountPointWhoseNameTheMountTableEscapesIsFoundAtTheNextStart() throws IOException {
        // /proc/self/mountinfo writes a space as \040 and a backslash as \134.
        Path odd = Files.createDirectory(root.resolve("run two\\x"));
        mount(odd, "size=20m,mode=0755");
        assertKilledEvictionIsFinishedAtRestart(odd);
    }

    /** Leaves what a kill right after the first phase leaves in {@code runDir}'s own trash, then starts again. */
    private void assertKilledEvictionIsFinishedAtRestart(Path runDir) throws IOException {
        Path old = ckpt(runDir, 1);
        site.reconcile();
        Path trash = Files.createDirectory(runDir.resolve(TrashBin.DIR_NAME),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        String id = "1767268800000-77-1";
        String parent = root.relativize(runDir).toString();
        TrashManifest m = new TrashManifest(id, "data", parent, old.toString(), parent,
                List.of(snapshot(parent, old.getFileName().toString())), Files.size(old), EvictionCause.POLICY, Action.DELETE, Site.T0);
        ManifestKey key = ManifestKey.forRegistry(site.registry, stateDir);
        Files.write(trash.resolve(id + TrashBin.MANIFEST_SUFFIX), m.toBytes(key));
        Files.move(old, trash.resolve(id + ".0"));

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.problems()).isEmpty();
        assertThat(r.items()).singleElement().satisfies(i -> {
            assertThat(i.path()).isEqualTo(old);
            assertThat(i.outcome()).isEqualTo("ok");
        });
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.DELETED);
        assertThat(trash.resolve(id + ".0")).doesNotExist();
        assertThat(trash.resolve(id + TrashBin.MANIFEST_SUFFIX)).doesNotExist();
        assertThat(site.auditLines()).singleElement().satisfies(a -> {
            assertThat(a.eviction()).isEqualTo(id);
            assertThat(a.outcome()).isEqualTo("ok");
        });
    }

    @Test
    void aManifestPlantedInAMountsTrashMovesNothing() throws IOException {
        Path ckpt = ckpt(run, 1);
        site.reconcile();
        Files.createDirectory(nested, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        String id = "1767268800000-77-2";
        List<EntrySnapshot> members = List.of(new EntrySnapshot("planted", Entry.Type.FILE, 4, 0, null),
                snapshot("run1", ckpt.getFileName().toString()));
        TrashManifest m = new TrashManifest(id, "data", "run1", ckpt.toString(), "run1", members, 1, EvictionCause.POLICY, Action.DELETE,
                Site.T0);
        Files.write(nested.resolve(id + TrashBin.MANIFEST_SUFFIX), m.json().getBytes(StandardCharsets.UTF_8));
        Files.writeString(nested.resolve(id + ".0"), "bait");

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(ckpt).exists();
        assertThat(r.items()).isEmpty();
        assertThat(r.problems()).singleElement().asString().contains(nested.toString()).contains("refused");
        assertThat(site.registered(ckpt).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void aMountsTrashThatIsAnotherUsersOrALinkDeletesNothing() throws IOException {
        assumeTrue(AgentOwned.uid() == 0, "planting a directory as another user needs root (chown to nobody)");
        Path ckpt = ckpt(run, 1);
        Path newer = ckpt(run, 2);
        site.reconcile();
        Files.createDirectory(nested);
        Files.writeString(nested.resolve("123-1-1.0"), "not ours to purge");
        UserPrincipal nobody = root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(nested, nobody);

        EnforcementReport recovered = site.enforcer().recover(site.rootConfig, root, site.clock.instant());
        EnforcementReport.Item evicted = site.enforceOne(site.eviction(ckpt));

        assertThat(recovered.problems()).singleElement().asString().contains(nested.toString()).contains("refused");
        assertThat(nested.resolve("123-1-1.0")).exists();
        assertThat(evicted.outcome()).startsWith("failed:").contains(nested.toString()).contains("refused");
        assertThat(ckpt).exists();
        assertThat(newer).exists();

        // A link in its place is refused the same way, and what it points at is left alone.
        Path elsewhere = Files.createDirectory(stateDir.resolve("elsewhere"));
        Files.writeString(elsewhere.resolve("123-1-1.0"), "not ours either");
        run("rm", "-rf", nested.toString());
        Files.createSymbolicLink(nested, elsewhere);

        EnforcementReport again = site.enforcer().recover(site.rootConfig, root, site.clock.instant());
        EnforcementReport.Item evictedAgain = site.enforceOne(site.eviction(ckpt));

        assertThat(again.problems()).singleElement().asString().contains(nested.toString()).contains("refused");
        assertThat(evictedAgain.outcome()).startsWith("failed:").contains("refused");
        assertThat(elsewhere.resolve("123-1-1.0")).exists();
        assertThat(ckpt).exists();
    }

    @Test
    void aCheckpointOnAReadOnlyMountFailsWithOneLineNamingTheMount() throws IOException {
        Path ckpt = ckpt(run, 1);
        site.reconcile();
        String said = run("mount", "-o", "remount,ro", run.toString());
        assertThat(said).isNull();

        EnforcementReport.Item item = site.enforceOne(site.eviction(ckpt));

        assertThat(ckpt).exists();
        assertThat(item.outcome()).startsWith("failed:").doesNotContain("cross-device").doesNotContain("\n")
                .contains(run.toString()).contains("file system");
    }

    @Test
    void aCheckpointOnABindMountInsideTheRootFailsWithOneLineNamingTheMount() throws IOException {
        // The same device mounted a second time: st_dev does not change, rename(2) still cannot cross.
        Path source = Files.createDirectory(root.resolve("source"));
        Path bound = Files.createDirectory(root.resolve("bound"));
        String said = run("mount", "--bind", source.toString(), bound.toString());
        assumeTrue(said == null, () -> "bind mounts are not permitted here: " + said);
        mounted.add(bound);
        Path ckpt = ckpt(Files.createDirectory(bound.resolve("run3")), 1);
        site.reconcile();

        EnforcementReport.Item item = site.enforceOne(site.eviction(ckpt));

        assertThat(ckpt).exists();
        assertThat(item.outcome()).startsWith("failed:").doesNotContain("cross-device").doesNotContain("\n")
                .contains(bound.resolve("run3").toString()).contains("another mount");
    }

    @Test
    void nothingInAMountsTrashIsEverCountedAsACheckpoint() throws IOException {
        Path old = ckpt(run, 1);
        ckpt(run, 2);
        site.reconcile();
        site.enforceOne(site.eviction(old));
        // What a crash could leave there: a whole checkpoint file under a checkpoint's name, and a run-like directory.
        ckpt(nested, 7);
        ckpt(Files.createDirectories(nested.resolve("run9")), 8);

        site.reconcile();

        assertThat(site.registry.byPath(nested.resolve("epoch=7-step=70.ckpt").toString())).isEmpty();
        assertThat(site.registry.byPath(nested.resolve("run9/epoch=8-step=80.ckpt").toString())).isEmpty();
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.DELETED);
    }

    /** The member {@code name} of the root's directory {@code parent} exactly as a manifest would record it. */
    private EntrySnapshot snapshot(String parent, String name) throws IOException {
        try (RootDirectory dir = RootDirectory.open(root);
             SecureDirectoryStream<Path> from = dir.openDirectory(root.getFileSystem().getPath(parent))) {
            return EntrySnapshot.read(from, root.getFileSystem().getPath(name));
        }
    }
}
