package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Deletion through the trash on real trees: what goes, what is refused, and what is written down. */
class EnforcerTest {
    private static final Instant T0 = Site.T0;

    @TempDir
    Path rootDir;
    @TempDir
    Path stateDir;
    @TempDir
    Path outsideDir;

    private Site site;
    private Path root;
    private Path outside;

    @BeforeEach
    void open() throws IOException {
        site = new Site(rootDir, stateDir);
        root = site.root;
        outside = outsideDir.toRealPath();
    }

    @AfterEach
    void close() throws IOException {
        site.close();
    }

    private Path ckpt(String rel, int step) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        return TreeBuilder.lightningCkpt(p, 1, step, true, T0);
    }

    /** {@code n} settled saves spread over four runs, registered. */
    private List<Path> registeredSaves(int n) throws IOException {
        List<Path> files = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            files.add(ckpt("run" + (i % 4) + "/epoch=1-step=" + i + ".ckpt", i));
        }
        site.reconcile();
        return files;
    }

    private List<Eviction> evictionsOf(List<Path> files) {
        List<Eviction> plan = new ArrayList<>();
        files.forEach(f -> plan.add(site.eviction(f)));
        return plan;
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void assertTrashEmpty() throws IOException {
        Path trash = root.resolve(TrashBin.DIR_NAME);
        if (Files.exists(trash)) {
            try (var s = Files.list(trash)) {
                assertThat(s.map(p -> p.getFileName().toString())).containsOnly(TrashBin.LOCK_NAME);
            }
        }
    }

    @Test
    void fileCheckpointGoesThroughTheTrashAndIsRecordedDeleted() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path keep = ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();
        long bytes = Files.size(old);
        List<String> renamedWhileInTrash = new ArrayList<>();
        Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                // At the commit point the checkpoint is whole in the trash and gone from its directory.
                try (var s = Files.list(root.resolve(TrashBin.DIR_NAME))) {
                    s.filter(p -> p.getFileName().toString().matches("\\d+-\\d+-\\d+\\.0"))
                            .filter(p -> sizeOf(p) == bytes)
                            .forEach(p -> renamedWhileInTrash.add(member));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                assertThat(old).doesNotExist();
            }
        });

        EnforcementReport report = enforcer.enforce(site.rootConfig, root, List.of(site.eviction(old)), false,
                site.clock.instant());

        assertThat(report.items()).singleElement().satisfies(i -> {
            assertThat(i.outcome()).isEqualTo("ok");
            assertThat(i.bytes()).isEqualTo(bytes);
            assertThat(i.freed()).isEqualTo(bytes);
            assertThat(i.cause().id()).isEqualTo("policy");
        });
        assertThat(report.freedBytes()).isEqualTo(bytes);
        assertThat(renamedWhileInTrash).containsExactly("epoch=1-step=10.ckpt");
        assertThat(old).doesNotExist();
        assertThat(keep).exists();
        assertTrashEmpty();
        Registered row = site.registered(old);
        assertThat(row.state()).isEqualTo(CheckpointState.DELETED);
        assertThat(row.note()).isEqualTo("policy");
        assertThat(site.registry.history(old.toString())).extracting(HistoryEvent::event).contains("deleted");
    }

    @Test
    void directoryCheckpointIsRemovedWhole() throws IOException {
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);
        Files.createDirectories(hf.resolve("nested/deeper"));
        Files.writeString(hf.resolve("nested/deeper/rng_state.pth"), "x");
        Trees.touch(hf.resolve("nested/deeper/rng_state.pth"), T0);
        Trees.touch(hf.resolve("nested/deeper"), T0);
        Trees.touch(hf.resolve("nested"), T0);
        Path newer = TreeBuilder.hfCheckpoint(root.resolve("hf"), 1000, true, true, T0);
        site.reconcile();
        assertThat(site.registered(hf).kind()).isEqualTo(CheckpointKind.DIRECTORY);

        EnforcementReport.Item item = site.enforceOne(site.eviction(hf));

        assertThat(item.outcome()).isEqualTo("ok");
        assertThat(item.bytes()).isEqualTo(site.registered(hf).bytes()).isPositive();
        assertThat(hf).doesNotExist();
        assertThat(newer.resolve("model.safetensors")).exists();
        assertThat(site.registered(hf).state()).isEqualTo(CheckpointState.DELETED);
        assertTrashEmpty();
    }

    @Test
    void multiFileCheckpointLosesEveryMemberAndNothingElse() throws IOException {
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 3, T0);
        Path index = set.get(set.size() - 1);
        Path other = ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();
        Registered group = site.registered(index);
        assertThat(group.members()).hasSize(4);
        List<String> renamed = new ArrayList<>();
        Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                renamed.add(member);
            }
        });

        EnforcementReport report = enforcer.enforce(site.rootConfig, root, List.of(site.eviction(index)), false,
                site.clock.instant());

        assertThat(report.items().get(0).outcome()).isEqualTo("ok");
        assertThat(renamed).hasSize(4);
        assertThat(set).allSatisfy(p -> assertThat(p).doesNotExist());
        assertThat(other).exists();
        assertTrashEmpty();
    }

    @Test
    void auditBeginIsOnDiskBeforeTheRenameAndEndFollows() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();
        Path log = stateDir.resolve(AuditLog.FILE_NAME);
        List<List<AuditRecord>> atRename = new ArrayList<>();
        List<Long> forcesAtRename = new ArrayList<>();
        Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                try {
                    atRename.add(AuditLog.read(log));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                forcesAtRename.add(site.audit.forces());
            }
        });

        enforcer.enforce(site.rootConfig, root, List.of(site.eviction(old)), false, site.clock.instant());

        assertThat(atRename).singleElement().satisfies(lines -> {
            assertThat(lines).singleElement().satisfies(b -> {
                assertThat(b.phase()).isEqualTo("begin");
                assertThat(b.path()).isEqualTo(old.toString());
                assertThat(b.why()).containsExactly("evictable: kept by no rule");
            });
        });
        assertThat(forcesAtRename).containsExactly(1L);
        List<AuditRecord> lines = site.auditLines();
        assertThat(lines).hasSize(2);
        AuditRecord begin = lines.get(0);
        AuditRecord end = lines.get(1);
        assertThat(end.phase()).isEqualTo("end");
        assertThat(end.eviction()).isEqualTo(begin.eviction());
        for (AuditRecord r : lines) {
            assertThat(r.path()).isEqualTo(old.toString());
            assertThat(r.root()).isEqualTo("data");
            assertThat(r.run()).isEqualTo("run");
            assertThat(r.reason()).isEqualTo("policy");
            assertThat(r.action()).isEqualTo("delete");
            assertThat(r.bytes()).isEqualTo(site.registered(old).bytes());
        }
        assertThat(begin.outcome()).isNull();
        assertThat(end.outcome()).isEqualTo("ok");
        assertThat(Files.readAllLines(log)).allSatisfy(l -> assertThat(l).startsWith("{\"time\":").endsWith("}"));
    }

    @Test
    void aLargePassForcesTheAuditLogPerBatchAndPairsEveryBeginWithItsEnd() throws IOException {
        int n = Enforcer.BATCH * 2 + 7;
        List<Path> files = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            files.add(ckpt("run" + (i % 3) + "/epoch=1-step=" + i + ".ckpt", i));
        }
        site.reconcile();
        List<Eviction> plan = new ArrayList<>();
        files.forEach(f -> plan.add(site.eviction(f)));

        EnforcementReport r = site.enforce(false, plan.toArray(Eviction[]::new));

        assertThat(r.items()).hasSize(n).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(r.items()).extracting(EnforcementReport.Item::path).containsExactlyElementsOf(files);
        assertThat(files).allSatisfy(f -> assertThat(f).doesNotExist());
        assertThat(files).allSatisfy(f -> assertThat(site.registered(f).state()).isEqualTo(CheckpointState.DELETED));
        // Three batches: each forces its begin lines once and its end lines once.
        assertThat(site.audit.forces()).isEqualTo(6);
        List<AuditRecord> lines = site.auditLines();
        assertThat(lines).hasSize(2 * n);
        Map<String, Integer> beginAt = new java.util.HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            AuditRecord a = lines.get(i);
            if (a.phase().equals("begin")) {
                assertThat(beginAt.put(a.eviction(), i)).as("eviction ids are unique").isNull();
            } else {
                assertThat(beginAt).containsKey(a.eviction());
                assertThat(beginAt.get(a.eviction())).isLessThan(i);
                assertThat(a.outcome()).isEqualTo("ok");
            }
        }
        assertThat(r.freedBytes()).isEqualTo(files.stream().mapToLong(f -> site.registered(f).bytes()).sum());
        assertTrashEmpty();
    }

    @Test
    void checkpointChangedByAnotherWhileItsBatchWasPreparedIsKept() throws IOException {
        Path first = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path second = ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();
        List<Eviction> plan = List.of(site.eviction(first), site.eviction(second));
        // The training job appends to the second file after every check of the batch passed and its
        // manifest is on disk, just as the first rename happens.
        Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                if (checkpoint.equals(first)) {
                    try {
                        Files.write(second, new byte[]{1, 2, 3}, StandardOpenOption.APPEND);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        });

        EnforcementReport r = enforcer.enforce(site.rootConfig, root, plan, false, site.clock.instant());

        assertThat(r.items().get(0).outcome()).isEqualTo("ok");
        assertThat(r.items().get(1).outcome()).isEqualTo("skipped:changed since planned");
        assertThat(first).doesNotExist();
        assertThat(second).exists();
        assertThat(site.registered(second).state()).isEqualTo(CheckpointState.COMPLETE);
        assertTrashEmpty();
    }

    @Test
    void aGuardThatSaysNoStopsTheBatchBeforeAnythingIsWrittenOrTouched() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();
        Map<String, String> before = Trees.listing(root);
        Enforcer enforcer = site.enforcer();
        enforcer.guardWith(r -> {
            throw new IOException("lease held by host-b (token 7)");
        });

        EnforcementReport r = enforcer.enforce(site.rootConfig, root, List.of(site.eviction(old)), false, site.clock.instant());

        assertThat(r.items()).singleElement().satisfies(i -> {
            assertThat(i.outcome()).isEqualTo("failed:not allowed to delete");
            assertThat(i.detail()).isEqualTo("lease held by host-b (token 7)");
        });
        assertThat(old).exists();
        assertThat(Trees.listing(root)).isEqualTo(before);
        assertThat(site.auditLines()).isEmpty();
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void aLeaseLostBetweenBatchesStopsTheRestOfThePass() throws IOException {
        List<Path> files = registeredSaves(Enforcer.BATCH + 3);
        List<Eviction> plan = evictionsOf(files);
        int[] asked = {0};
        Enforcer enforcer = site.enforcer();
        enforcer.guardWith(r -> {
            if (++asked[0] > 2) { // the pass's own check, then the first batch's; the second batch is refused
                throw new IOException("lease lost");
            }
        });

        EnforcementReport r = enforcer.enforce(site.rootConfig, root, plan, false, site.clock.instant());

        assertThat(r.items().subList(0, Enforcer.BATCH)).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(r.items().subList(Enforcer.BATCH, files.size()))
                .allSatisfy(i -> assertThat(i.outcome()).isEqualTo("failed:not allowed to delete"));
        assertThat(files.subList(Enforcer.BATCH, files.size())).allSatisfy(f -> assertThat(f).exists());
        assertThat(site.auditLines()).hasSize(2 * Enforcer.BATCH);
        assertTrashEmpty();
    }

    @Test
    void aStopFinishesTheBatchInProgressAndStartsNoOther() throws IOException {
        List<Path> files = registeredSaves(Enforcer.BATCH + 2);
        List<Eviction> plan = evictionsOf(files);
        Enforcer[] self = new Enforcer[1];
        self[0] = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                self[0].stop(); // SIGTERM arrives during the first batch
            }
        });

        EnforcementReport r = self[0].enforce(site.rootConfig, root, plan, false, site.clock.instant());

        assertThat(r.items().subList(0, Enforcer.BATCH)).allSatisfy(i -> assertThat(i.outcome()).isEqualTo("ok"));
        assertThat(r.items().subList(Enforcer.BATCH, files.size()))
                .allSatisfy(i -> assertThat(i.outcome()).isEqualTo("skipped:agent stopping"));
        assertThat(files.subList(Enforcer.BATCH, files.size())).allSatisfy(f -> assertThat(f).exists());
        assertThat(site.auditLines()).hasSize(2 * Enforcer.BATCH);
        assertTrashEmpty();
    }

    @Test
    void checkpointOutsideTheRootIsRefused() throws IOException {
        Path planned = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Path elsewhere = outside.resolve("epoch=1-step=10.ckpt");
        Files.copy(planned, elsewhere);
        Registered c = site.registered(planned);
        Registered escaped = Copies.with(c, Map.of("path", elsewhere));
        site.registry.upsert(List.of(escaped));
        Registered dotted = Copies.with(c, Map.of("path",
                root.resolve("run/../../" + outside.getFileName() + "/epoch=1-step=10.ckpt")));
        site.registry.upsert(List.of(dotted));

        EnforcementReport r = site.enforce(false, new Eviction(site.registered(elsewhere), EvictionCause.MANUAL, List.of()),
                new Eviction(site.registered(dotted.path()), EvictionCause.MANUAL, List.of()));

        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsExactly("skipped:outside root", "skipped:outside root");
        assertThat(elsewhere).exists();
        assertThat(planned).exists();
    }

    @Test
    void symlinkedCheckpointIsRefusedAndItsTargetSurvives() throws IOException {
        Path target = TreeBuilder.lightningCkpt(outside.resolve("precious.ckpt"), 9, 900, true, T0);
        Map<String, String> before = Trees.listing(outside);
        Files.createDirectories(root.resolve("run"));
        Path link = Trees.link(root.resolve("run/epoch=9-step=900.ckpt"), target, T0);
        ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();

        EnforcementReport.Item item = site.enforceOne(new Eviction(site.registered(link), EvictionCause.MANUAL, List.of()));

        assertThat(item.outcome()).isEqualTo("skipped:symbolic link");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Trees.listing(outside)).isEqualTo(before);
    }

    @Test
    void fileSwappedForASymlinkAfterPlanningIsRefused() throws IOException {
        Path planned = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Eviction e = site.eviction(planned);
        // Same name, size and mtime outside the root: only the link itself gives it away.
        Path target = outside.resolve("epoch=1-step=10.ckpt");
        Files.move(planned, target);
        Files.createSymbolicLink(planned, target);
        Map<String, String> before = Trees.listing(outside);

        EnforcementReport.Item item = site.enforceOne(e);

        assertThat(item.outcome()).isEqualTo("skipped:symbolic link");
        assertThat(Trees.listing(outside)).isEqualTo(before);
    }

    @Test
    void runDirectorySwappedForASymlinkBetweenPlanAndEnforceIsRefused() throws IOException {
        Path planned = ckpt("runs/a/epoch=1-step=10.ckpt", 10);
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("runs/a"), 500, true, true, T0);
        site.reconcile();
        List<Eviction> plan = List.of(site.eviction(planned), site.eviction(hf));
        // The run directory moves away and a link to another directory holding the same names takes its place.
        Path victim = outside.resolve("victim");
        Files.move(root.resolve("runs/a"), victim);
        Files.createSymbolicLink(root.resolve("runs/a"), victim);
        Map<String, String> before = Trees.listing(victim);

        EnforcementReport r = site.enforce(false, plan.toArray(Eviction[]::new));

        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsExactly("skipped:symbolic link", "skipped:symbolic link");
        assertThat(r.items().get(0).detail()).contains(root.resolve("runs/a").toString());
        assertThat(Trees.listing(victim)).isEqualTo(before).isNotEmpty();
    }

    @Test
    void pinnedAfterPlanningIsRefused() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Eviction e = site.eviction(old);
        assertThat(site.registry.pin(old.toString(), true, "paper figure")).isTrue();

        EnforcementReport.Item item = site.enforceOne(e);

        assertThat(item.outcome()).isEqualTo("skipped:pinned");
        assertThat(item.detail()).isEqualTo("paper figure");
        assertThat(old).exists();
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void writingAndCorruptCheckpointsAreRefused() throws IOException {
        Path fresh = root.resolve("run/epoch=2-step=20.ckpt");
        Files.createDirectories(fresh.getParent());
        TreeBuilder.lightningCkpt(fresh, 2, 20, true, site.clock.instant());
        Path broken = root.resolve("run/epoch=1-step=10.ckpt");
        TreeBuilder.lightningCkpt(broken, 1, 10, true, T0);
        try (var ch = Files.newByteChannel(broken, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(broken) / 2);
        }
        Trees.touch(broken, T0);
        site.reconcile();
        assertThat(site.registered(fresh).state()).isEqualTo(CheckpointState.WRITING);
        assertThat(site.registered(broken).state()).isEqualTo(CheckpointState.CORRUPT);

        EnforcementReport r = site.enforce(false, new Eviction(site.registered(fresh), EvictionCause.MANUAL, List.of()),
                new Eviction(site.registered(broken), EvictionCause.MANUAL, List.of()));

        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsExactly("skipped:writing", "skipped:corrupt");
        assertThat(fresh).exists();
        assertThat(broken).exists();
    }

    @Test
    void protectedReasonIsRefusedWhateverTheCallerSays() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();

        EnforcementReport.Item item = site.enforceOne(new Eviction(site.registered(old), EvictionCause.QUOTA,
                List.of(Reason.protection("newest complete"))));

        assertThat(item.outcome()).isEqualTo("skipped:protected");
        assertThat(old).exists();
    }

    @Test
    void fileThatGrewSincePlanningIsSkippedThisPass() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);
        site.reconcile();
        List<Eviction> plan = List.of(site.eviction(old), site.eviction(hf));
        Files.write(old, new byte[]{1, 2, 3}, StandardOpenOption.APPEND);
        Trees.touch(old, T0);
        // In a directory, a new file with an old mtime changes only the recursive summary.
        Files.writeString(hf.resolve("scheduler.pt"), "s");
        Trees.touch(hf.resolve("scheduler.pt"), T0);
        Trees.touch(hf, T0);
        long grown = Files.size(old);

        EnforcementReport r = site.enforce(false, plan.toArray(Eviction[]::new));

        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsExactly("skipped:changed since planned", "skipped:changed since planned");
        assertThat(r.items().get(0).detail()).contains("size");
        assertThat(Files.size(old)).isEqualTo(grown);
        assertThat(hf.resolve("model.safetensors")).exists();
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void fileRewrittenWithSameSizeButNewMtimeIsSkipped() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Eviction e = site.eviction(old);
        Trees.touch(old, T0.plusSeconds(30));

        assertThat(site.enforceOne(e).outcome()).isEqualTo("skipped:changed since planned");
        assertThat(old).exists();
    }

    @Test
    void alreadyGoneIsSuccess() throws IOException {
        Path file = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path dirGone = ckpt("gone-run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        List<Eviction> plan = List.of(site.eviction(file), site.eviction(dirGone));
        Files.delete(file);
        Files.delete(dirGone);
        Files.delete(dirGone.getParent());

        EnforcementReport r = site.enforce(false, plan.toArray(Eviction[]::new));

        assertThat(r.items()).allSatisfy(i -> {
            assertThat(i.outcome()).isEqualTo("ok");
            assertThat(i.detail()).isEqualTo("already gone");
            assertThat(i.freed()).isZero();
        });
        assertThat(site.registered(file).state()).isEqualTo(CheckpointState.DELETED);
        assertThat(site.registered(dirGone).state()).isEqualTo(CheckpointState.DELETED);
        // One batch: both begin lines (forced once) before anything is touched, then both end lines.
        assertThat(site.auditLines()).extracting(AuditRecord::phase).containsExactly("begin", "begin", "end", "end");
    }

    @Test
    void dryRunLeavesTreeAndStateUntouchedAndSaysWhatWouldHappen() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path pinned = ckpt("run/epoch=1-step=15.ckpt", 15);
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);
        Trees.link(hf.resolve("link-out"), outside, T0);
        Trees.touch(hf, T0);
        site.reconcile();
        site.registry.pin(pinned.toString(), true, null);
        List<Eviction> plan = List.of(site.eviction(old), site.eviction(pinned), site.eviction(hf));
        Map<String, String> before = Trees.listing(root);
        List<Registered> registryBefore = site.registry.list(null, null, true);

        EnforcementReport r = site.enforce(true, plan.toArray(Eviction[]::new));

        assertThat(r.dryRun()).isTrue();
        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsExactly("dry-run", "skipped:pinned", "dry-run");
        assertThat(r.wouldFreeBytes()).isEqualTo(Files.size(old) + site.registered(hf).bytes());
        assertThat(r.freedBytes()).isZero();
        assertThat(Trees.listing(root)).isEqualTo(before);
        assertThat(root.resolve(TrashBin.DIR_NAME)).doesNotExist();
        assertThat(site.registry.list(null, null, true)).isEqualTo(registryBefore);
        assertThat(site.auditLines()).isEmpty();
    }

    @Test
    void reportActionLeavesTreeUntouched() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        List<Path> set = Trees.shardedSafetensors(root.resolve("run"), "model", 2, T0);
        site.reconcile();
        site.configure(Action.REPORT, Site.KEEP_LAST_1);
        Map<String, String> before = Trees.listing(root);

        EnforcementReport r = site.enforce(false, site.eviction(old), site.eviction(set.get(set.size() - 1)));

        assertThat(r.action().id()).isEqualTo("report");
        assertThat(r.items()).extracting(EnforcementReport.Item::outcome).containsExactly("report", "report");
        assertThat(Trees.listing(root)).isEqualTo(before);
        assertThat(site.registered(old).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(site.auditLines()).isEmpty();
    }

    @Test
    void offloadWithoutATargetDeletesNothing() throws IOException {
        // The offload round trip itself is covered in dev.ckptwarden.offload (SFTP, S3, file targets).
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        site.configure(Action.OFFLOAD, Site.KEEP_LAST_1);

        assertThat(site.enforceOne(site.eviction(old)).outcome()).isEqualTo("failed:offload no target");
        assertThat(old).exists();
    }

    @Test
    void watchOnlyRootRemovesOnlyManualEvictions() throws IOException {
        Path a = ckpt("run/epoch=1-step=10.ckpt", 10);
        Path b = ckpt("run/epoch=1-step=20.ckpt", 20);
        site.reconcile();
        site.configure(Action.DELETE, null);

        EnforcementReport r = site.enforce(false, site.eviction(a), new Eviction(site.registered(b), EvictionCause.MANUAL, List.of()));

        assertThat(r.items()).extracting(EnforcementReport.Item::outcome)
                .containsExactly("skipped:watch-only root", "ok");
        assertThat(a).exists();
        assertThat(b).doesNotExist();
    }

    @Test
    void symlinkInsideADirectoryCheckpointIsRemovedNotFollowed() throws IOException {
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);
        Path precious = Files.createDirectories(outside.resolve("data"));
        Files.writeString(precious.resolve("weights.bin"), "keep me");
        Trees.link(hf.resolve("shared-data"), precious, T0);
        Trees.link(hf.resolve("shared-file.bin"), precious.resolve("weights.bin"), T0);
        Trees.touch(hf, T0);
        site.reconcile();
        Map<String, String> before = Trees.listing(outside);

        assertThat(site.enforceOne(site.eviction(hf)).outcome()).isEqualTo("ok");

        assertThat(Files.exists(hf, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Trees.listing(outside)).isEqualTo(before);
        assertTrashEmpty();
    }

    @Test
    void evictionOfAnotherRootIsRefused() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Registered c = site.registered(old);
        Registered foreign = Copies.with(c, Map.of("root", "other"));

        assertThat(site.enforceOne(new Eviction(foreign, EvictionCause.MANUAL, List.of())).outcome()).isEqualTo("skipped:other root");
        assertThat(old).exists();
    }

    @Test
    void secondPassOnTheSameRootIsRefusedWhileTheFirstHoldsTheTrash() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        try (TrashBin held = TrashBin.open(root, null)) {
            assertThat(held.path()).isDirectory();
            assertThatThrownBy(() -> site.enforceOne(site.eviction(old)))
                    .isInstanceOf(EnforcementBusyException.class)
                    .hasMessageContaining(TrashBin.DIR_NAME);
        }
        assertThat(old).exists();
        assertThat(site.enforceOne(site.eviction(old)).outcome()).isEqualTo("ok");
    }

    @Test
    void trashThatIsASymlinkIsNeverUsed() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Files.createSymbolicLink(root.resolve(TrashBin.DIR_NAME), outside);

        assertThatThrownBy(() -> site.enforceOne(site.eviction(old)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("symbolic link");
        assertThat(old).exists();
        try (var s = Files.list(outside)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void refusesWhereThePlatformHasNoSecureDirectoryStream() throws IOException {
        Path old = ckpt("run/epoch=1-step=10.ckpt", 10);
        site.reconcile();
        Eviction e = site.eviction(old);
        try (FileSystem zipFs = FileSystems.newFileSystem(outside.resolve("fs.zip"),
                Map.of("create", "true"))) {
            Path inZip = Files.createDirectories(zipFs.getPath("/run"));
            Files.writeString(inZip.resolve("epoch=1-step=10.ckpt"), "x");

            assertThatThrownBy(() -> TrashBin.open(zipFs.getPath("/"), null))
                    .isInstanceOf(SecureDeletionUnavailableException.class)
                    .hasMessageContaining("refusing to delete");
            assertThatThrownBy(() -> site.enforcer().enforce(site.rootConfig,
                            zipFs.getPath("/"), List.of(e), false, site.clock.instant()))
                    .isInstanceOf(SecureDeletionUnavailableException.class);
            assertThat(inZip.resolve("epoch=1-step=10.ckpt")).exists();
            assertThat(zipFs.getPath("/" + TrashBin.DIR_NAME)).doesNotExist();
        }
        assertThat(old).exists();
        assertThat(site.auditLines()).isEmpty();
    }
}
