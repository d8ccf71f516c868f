package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;
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
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A root another user can write to (a shared {@code 1777} scratch directory): whatever that user
 * plants in {@code <root>/.ckpt-warden-trash/} must never steer a deletion, neither of a file
 * outside the root nor of a checkpoint inside it, nor of a pinned one.
 */
class PlantedTrashAttackTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;
    @TempDir
    Path outsideDir;

    private Site site;
    private Path root;
    private Path trash;
    private Path victim;

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        root = site.root;
        trash = root.resolve(TrashBin.DIR_NAME);
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setAttribute(root, "unix:mode", 01777);
        victim = Files.writeString(outsideDir.toRealPath().resolve("victim"), "someone else's data");
    }

    @AfterEach
    void close() throws IOException {
        site.close();
    }

    private static void assumeRoot() {
        assumeTrue(new com.sun.security.auth.module.UnixSystem().getUid() == 0,
                "planting files as another user needs root (chown to nobody)");
    }

    private static void chownNobody(Path p) throws IOException {
        UserPrincipal nobody = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(p, nobody);
    }

    /** The member {@code name} of the root's directory {@code parent} exactly as a manifest would record it. */
    private EntrySnapshot snapshot(String parent, String name) throws IOException {
        try (RootDirectory dir = RootDirectory.open(root);
             SecureDirectoryStream<Path> from = dir.openDirectory(root.getFileSystem().getPath(parent))) {
            return EntrySnapshot.read(from, root.getFileSystem().getPath(name));
        }
    }

    /**
     * What an attacker writes: a manifest line (no key, so whatever the agent would need to trust it
     * is missing) whose first member "was already moved" (a planted {@code <id>.0}) so that recovery
     * rolls the others forward.
     */
    private String plant(String path, String parent, List<EntrySnapshot> members) throws IOException {
        String id = "1700000000000-4242-1";
        List<EntrySnapshot> all = new java.util.ArrayList<>();
        all.add(new EntrySnapshot("planted", Entry.Type.FILE, 4, 0, null));
        all.addAll(members);
        TrashManifest m = new TrashManifest(id, "data", "run", path, parent, all, 1, EvictionCause.POLICY, Action.DELETE, Site.T0);
        Files.createDirectories(trash);
        Files.write(trash.resolve(id + TrashBin.MANIFEST_SUFFIX), m.json().getBytes(StandardCharsets.UTF_8));
        Files.writeString(trash.resolve(id + ".0"), "bait");
        return id;
    }

    @Test
    void aTrashDirectoryCreatedByAnotherUserIsRefusedAndNothingIsDeleted() throws IOException {
        assumeRoot();
        Path ckpt = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        String escape = root.relativize(victim).toString();
        String id = plant(ckpt.toString(), "", List.of(snapshot("", escape)));
        Files.setAttribute(trash, "unix:mode", 0777);
        try (var s = Files.list(trash)) {
            for (Path p : s.toList()) {
                chownNobody(p);
            }
        }
        chownNobody(trash);

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(victim).hasContent("someone else's data");
        assertThat(ckpt).exists();
        assertThat(r.items()).isEmpty();
        assertThat(r.problems()).singleElement().asString().contains(trash.toString()).contains("refused");
        // Refused means not purged either: what the other user put there is theirs to explain.
        assertThat(trash.resolve(id + ".0")).exists();
        assertThat(trash.resolve(id + TrashBin.MANIFEST_SUFFIX)).exists();
        assertThat(site.registered(ckpt).state()).isEqualTo(CheckpointState.COMPLETE);
        // Deleting (not only recovering) refuses the trash as well, before anything is moved.
        assertThatThrownBy(() -> site.enforceOne(site.eviction(ckpt)))
                .isInstanceOf(UntrustedTrashException.class).hasMessageContaining(trash.toString());
        assertThat(ckpt).exists();
        assertThat(trash.resolve(id + ".0")).exists();
    }

    @Test
    void aTrashDirectoryThatIsASymbolicLinkIsRefused() throws IOException {
        Path elsewhere = Files.createDirectory(outsideDir.toRealPath().resolve("trash"));
        Files.createSymbolicLink(trash, elsewhere);
        Files.writeString(elsewhere.resolve("123-1-1.0"), "not ours to purge");

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.problems()).singleElement().asString().contains(trash.toString()).contains("refused");
        assertThat(elsewhere.resolve("123-1-1.0")).exists();
    }

    @Test
    void aWorldWritableTrashDirectoryIsRefused() throws IOException {
        Files.createDirectory(trash);
        Files.setAttribute(trash, "unix:mode", 0777);
        Files.writeString(trash.resolve("123-1-1.0"), "anyone could have put this here");

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.problems()).singleElement().asString().contains(trash.toString()).contains("refused");
        assertThat(trash.resolve("123-1-1.0")).exists();
    }

    @Test
    void theTrashIsCreatedReadableByTheAgentOnly() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();

        site.enforceOne(site.eviction(ckpt));

        assertThat(Files.getAttribute(trash, "unix:mode")).isEqualTo(040700);
        assertThat(Files.getAttribute(stateDir.resolve(ManifestKey.FILE_NAME), "unix:mode")).isEqualTo(0100600);
    }

    @Test
    void aManifestTheAgentDidNotWriteNeverMovesAFileOutsideTheRoot() throws IOException {
        Files.createDirectory(trash);
        String escape = root.relativize(victim).toString();
        plant("/x", "", List.of(snapshot("", escape)));

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(victim).hasContent("someone else's data");
        assertThat(r.items()).isEmpty();
        assertThat(r.problems()).singleElement().asString().contains("refused");
    }

    @Test
    void aManifestTheAgentDidNotWriteNeverMovesACheckpointOfTheRoot() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        site.registry.pin(ckpt.toString(), true, "the paper's run");
        Files.createDirectory(trash);
        plant(ckpt.toString(), "run", List.of(snapshot("run", ckpt.getFileName().toString())));

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(ckpt).exists();
        assertThat(r.items()).isEmpty();
        Registered row = site.registered(ckpt);
        assertThat(row.state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(row.pinned()).isTrue();
    }

    @Test
    void aManifestWhoseMembersAreNotPlainNamesIsRefused() throws IOException {
        for (String bad : List.of("../../victim/file", "/etc/passwd", "a/b", "..", ".", "", "nul\0byte")) {
            TrashManifest m = new TrashManifest("1-2-3", "data", "run", "/x", "",
                    List.of(new EntrySnapshot(bad, Entry.Type.FILE, 1, 0, null)), 1, EvictionCause.POLICY, Action.DELETE, Site.T0);
            assertThatThrownBy(() -> TrashManifest.parse(m.json().getBytes(StandardCharsets.UTF_8)))
                    .as(bad).isInstanceOf(IOException.class);
        }
        for (String parent : List.of("..", "../outside", "/etc", "run/../../x", "./run")) {
            TrashManifest m = new TrashManifest("1-2-3", "data", "run", "/x", parent,
                    List.of(new EntrySnapshot("ok", Entry.Type.FILE, 1, 0, null)), 1, EvictionCause.POLICY, Action.DELETE, Site.T0);
            assertThatThrownBy(() -> TrashManifest.parse(m.json().getBytes(StandardCharsets.UTF_8)))
                    .as(parent).isInstanceOf(IOException.class);
        }
    }
}
