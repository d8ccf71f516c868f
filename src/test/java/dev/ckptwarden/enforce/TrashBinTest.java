package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The trash after a crash: manifests rolled forward or left alone, everything purged, links never followed. */
class TrashBinTest {
    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;
    @TempDir
    Path outsideDir;

    private Site site;
    private Path root;
    private Path outside;
    private Path trash;

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        root = site.root;
        outside = outsideDir.toRealPath();
        trash = root.resolve(TrashBin.DIR_NAME);
    }

    @AfterEach
    void close() throws IOException {
        site.close();
    }

    /**
     * Leaves the trash exactly as a process killed after {@code moved} renames of an eviction leaves
     * it: the manifest, and the first {@code moved} members renamed in as {@code <id>.<i>}.
     */
    private TrashManifest interrupted(Registered c, int moved) throws IOException {
        CheckpointEntries where = CheckpointEntries.of(c.facts(), root);
        TrashManifest m;
        try (RootDirectory dir = RootDirectory.open(root);
             SecureDirectoryStream<Path> parent = dir.openDirectory(where.parent())) {
            CheckpointEntries.Observed seen = where.observe(parent);
            m = new TrashManifest(new EvictionIds().next(site.clock.instant()), "data", c.run(), c.key(),
                    where.parent().toString(), seen.entries(), seen.bytes(), EvictionCause.POLICY, Action.DELETE, site.clock.instant());
        }
        Files.createDirectories(trash);
        Files.write(trash.resolve(m.id() + TrashBin.MANIFEST_SUFFIX), m.toBytes(ManifestKey.open(stateDir)));
        for (int i = 0; i < moved; i++) {
            String name = m.members().get(i).name();
            Files.move(root.resolve(where.parent()).resolve(name), trash.resolve(m.id() + "." + i));
        }
        return m;
    }

    private List<String> trashNames() throws IOException {
        try (var s = Files.list(trash)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void recoverFinishesAnInterruptedGroupMoveAndRecordsIt() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        Path other = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=20.ckpt"), 1, 20, true, Site.T0);
        site.reconcile();
        Registered group = site.registered(set.get(3));
        TrashManifest m = interrupted(group, 2);

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.items()).singleElement().satisfies(i -> {
            assertThat(i.outcome()).isEqualTo("ok");
            assertThat(i.path()).isEqualTo(set.get(3));
            assertThat(i.detail()).isEqualTo("finished after restart: moved 2 remaining member(s)");
        });
        assertThat(r.problems()).isEmpty();
        assertThat(set).allSatisfy(p -> assertThat(p).doesNotExist());
        assertThat(other).exists();
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
        assertThat(site.registered(set.get(3)).state()).isEqualTo(CheckpointState.DELETED);
        assertThat(site.registered(set.get(3)).note()).isEqualTo("policy");
        assertThat(site.auditLines()).singleElement().satisfies(a -> {
            assertThat(a.phase()).isEqualTo("end");
            assertThat(a.eviction()).isEqualTo(m.id());
            assertThat(a.outcome()).isEqualTo("ok");
        });
    }

    @Test
    void theLocalBackendRollsForwardAndPurges() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 2, Site.T0);
        site.reconcile();
        interrupted(site.registered(set.get(2)), 1);

        List<TrashBackend.Recovered> found = new java.util.ArrayList<>();
        ManifestKey key = ManifestKey.open(stateDir);
        try (TrashBin bin = TrashBin.open(root, key); LocalTrash local = new LocalTrash(bin.root(), bin)) {
            List<TrashManifest> all = new java.util.ArrayList<>();
            for (String file : local.manifestFiles()) {
                for (TrashManifest m : TrashManifest.parseAll(local.readManifest(file), key)) {
                    all.add(m);
                    found.add(local.rollForward(m));
                }
            }
            local.purgeRecovered(local.manifestFiles(), all);
        }

        assertThat(found).singleElement().satisfies(f -> {
            assertThat(f.removed()).isTrue();
            assertThat(f.manifest().path()).isEqualTo(set.get(2).toString());
        });
        assertThat(set).allSatisfy(p -> assertThat(p).doesNotExist());
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
    }

    @Test
    void evictionThatMovedNothingLeavesTheCheckpointWholeInPlace() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 2, Site.T0);
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, Site.T0);
        site.reconcile();
        Map<String, String> before = Trees.listing(root.resolve("run"));
        Map<String, String> hfBefore = Trees.listing(hf);
        interrupted(site.registered(set.get(2)), 0);
        interrupted(site.registered(hf), 0);

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsOnly("skipped:interrupted before rename").hasSize(2);
        assertThat(Trees.listing(root.resolve("run"))).isEqualTo(before);
        assertThat(Trees.listing(hf)).isEqualTo(hfBefore);
        assertThat(site.registered(set.get(2)).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
    }

    @Test
    void aBatchManifestIsFinishedEvictionByEviction() throws IOException {
        Path moved = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        Path notYet = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=20.ckpt"), 1, 20, true, Site.T0);
        site.reconcile();
        // A process killed in a batch after the first eviction's rename: one manifest file for both.
        TrashManifest a = interrupted(site.registered(moved), 1);
        TrashManifest b = interrupted(site.registered(notYet), 0);
        Path batch = trash.resolve("999-1-1-batch" + TrashBin.MANIFEST_SUFFIX);
        Files.write(batch, concat(a.toBytes(ManifestKey.open(stateDir)), b.toBytes(ManifestKey.open(stateDir))));
        Files.delete(trash.resolve(a.id() + TrashBin.MANIFEST_SUFFIX));
        Files.delete(trash.resolve(b.id() + TrashBin.MANIFEST_SUFFIX));

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.items()).extracting(EnforcementReport.Item::path, EnforcementReport.Item::outcome).containsExactly(
                org.assertj.core.groups.Tuple.tuple(moved, "ok"),
                org.assertj.core.groups.Tuple.tuple(notYet, "skipped:interrupted before rename"));
        assertThat(moved).doesNotExist();
        assertThat(notYet).exists();
        assertThat(site.registered(moved).state()).isEqualTo(CheckpointState.DELETED);
        assertThat(site.registered(notYet).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] out = java.util.Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }

    @Test
    void memberThatChangedAfterTheManifestIsNotRolledForward() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        site.reconcile();
        interrupted(site.registered(set.get(3)), 1);
        // A new file took the name of a member still in place: it is not the member the manifest describes.
        Path rewritten = set.get(2);
        Files.write(rewritten, new byte[]{7}, StandardOpenOption.APPEND);

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.items().get(0).detail()).contains("left in place because they changed: "
                + rewritten.getFileName());
        assertThat(rewritten).exists();
        assertThat(set.get(0)).doesNotExist();
        assertThat(set.get(1)).doesNotExist();
        assertThat(set.get(3)).doesNotExist();
    }

    @Test
    void aCheckpointPinnedSinceTheCrashIsPutBackWholeInsteadOfRolledForward() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        site.reconcile();
        Map<String, String> before = Trees.files(root.resolve("run"));
        interrupted(site.registered(set.get(3)), 1);
        site.registry.pin(set.get(3).toString(), true, "keep for the paper");

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(Trees.files(root.resolve("run"))).isEqualTo(before);
        assertThat(r.items()).singleElement().satisfies(i -> {
            assertThat(i.outcome()).isEqualTo("skipped:pinned");
            assertThat(i.freed()).isZero();
        });
        assertThat(site.registered(set.get(3)).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
    }

    @Test
    void movedWholeButNotRecordedIsRecordedAtRestart() throws IOException {
        Path file = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        site.reconcile();
        interrupted(site.registered(file), 1);

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.items()).singleElement().satisfies(i -> {
            assertThat(i.outcome()).isEqualTo("ok");
            assertThat(i.detail()).isEqualTo("finished after restart");
        });
        assertThat(file).doesNotExist();
        assertThat(site.registered(file).state()).isEqualTo(CheckpointState.DELETED);
    }

    @Test
    void tornManifestMeansNothingMovedAndIsReported() throws IOException {
        Path file = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        Files.createDirectories(trash);
        Files.writeString(trash.resolve("123-1-1.0"), "a member");
        Files.writeString(trash.resolve("123-1-1" + TrashBin.MANIFEST_SUFFIX), "{\"version\":1,\"id\":\"123-");

        EnforcementReport r = site.enforcer().recover(site.rootConfig, root, site.clock.instant());

        assertThat(r.items()).isEmpty();
        assertThat(r.problems()).singleElement().asString().contains("unreadable manifest");
        assertThat(file).exists();
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
    }

    @Test
    void purgeRemovesLinksAndNeverWhatTheyPointAt() throws IOException {
        Path data = Files.createDirectories(outside.resolve("data/sub"));
        Files.writeString(data.resolve("weights.bin"), "precious");
        Files.writeString(outside.resolve("top.bin"), "precious too");
        Map<String, String> before = Trees.listing(outside);
        Path entry = Files.createDirectories(trash.resolve("1-1-1/checkpoint-500/inner"));
        Files.writeString(entry.resolve("model.safetensors"), "bytes");
        Files.createSymbolicLink(entry.resolve("to-dir"), outside.resolve("data"));
        Files.createSymbolicLink(entry.resolve("to-file"), outside.resolve("top.bin"));
        Files.createSymbolicLink(trash.resolve("stray-link"), outside);

        TrashBackend.Purge purge;
        try (TrashBin bin = TrashBin.open(root, ManifestKey.open(stateDir))) {
            purge = bin.purge();
        }

        assertThat(purge.problems()).isEmpty();
        assertThat(purge.entries()).isEqualTo(2);
        assertThat(purge.bytes()).isEqualTo(5);
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
        assertThat(Trees.listing(outside)).isEqualTo(before);
    }

    @Test
    void failedRenameMidGroupPutsTheMovedMembersBack() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, Site.T0);
        site.reconcile();
        Map<String, String> before = Trees.files(root.resolve("run"));
        int[] renames = {0};
        Enforcer failing = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                if (++renames[0] == 2) {
                    throw new IllegalStateException("simulated failure after the second rename");
                }
            }
        });

        EnforcementReport r = failing.enforce(site.rootConfig, root, List.of(site.eviction(set.get(3))), false,
                site.clock.instant());

        assertThat(r.items().get(0).outcome()).startsWith("failed:").contains("simulated failure");
        assertThat(Trees.files(root.resolve("run"))).isEqualTo(before);
        assertThat(trashNames()).containsExactly(TrashBin.LOCK_NAME);
        assertThat(site.registered(set.get(3)).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(site.auditLines()).extracting(AuditRecord::phase).containsExactly("begin", "end");
        assertThat(site.auditLines().get(1).outcome()).startsWith("failed:");
    }

    @Test
    void trashIsNeverCatalogued() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, Site.T0);
        Files.createDirectories(trash.resolve("1-1-1"));
        TreeBuilder.lightningCkpt(trash.resolve("1-1-1/epoch=0-step=5.ckpt"), 0, 5, true, Site.T0);

        assertThat(site.reconcile().checkpoints()).extracting(Registered::name).containsExactly("epoch=1-step=10.ckpt");
        assertThat(Files.exists(trash.resolve("1-1-1/epoch=0-step=5.ckpt"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
}
