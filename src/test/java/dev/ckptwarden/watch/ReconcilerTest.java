package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Reconcile passes over real trees with a hand-moved clock: completeness signals, settle time, incremental rescans. */
class ReconcilerTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final Duration SETTLE = Duration.ofSeconds(10);

    @TempDir
    Path root;
    @TempDir
    Path state;

    private SqliteRegistry registry;
    private MutableClock clock;
    private Reconciler reconciler;
    private Config config;
    private RootConfig rootConfig;

    @BeforeEach
    void open() {
        registry = SqliteRegistry.open(state);
        clock = new MutableClock(T0.plus(Duration.ofHours(1)));
        reconciler = new Reconciler(registry, clock);
        rootConfig = RootConfig.watchOnly(root.toString());
        config = new Config(null, AgentSettings.defaults(state).withSettleTime(SETTLE), List.of(rootConfig));
    }

    @AfterEach
    void close() {
        registry.close();
    }

    private Map<String, Registered> scan() {
        RootScan s = reconciler.reconcile(config, rootConfig);
        return s.checkpoints().stream().collect(Collectors.toMap(c -> c.run() + "/" + c.name(), c -> c));
    }

    /**
     * Issue 14: the agent's clock jumps back an hour (NTP) between two saves. The later save must still
     * rank as the most recently completed, or keep_last would evict it as the oldest.
     */
    @Test
    void issue14AClockThatJumpsBackDoesNotMakeTheNextSaveOlder() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=0-step=100.ckpt"), 0, 100, true, T0);
        scan();
        clock.set(clock.instant().minus(Duration.ofHours(1)));
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=0-step=50.ckpt"), 0, 50, true, T0.minusSeconds(3600));
        Map<String, Registered> m = scan();
        Registered later = m.get("run/epoch=0-step=50.ckpt");
        assertThat(later.stateSince()).isAfterOrEqualTo(m.get("run/epoch=0-step=100.ckpt").stateSince());
        assertThat(dev.ckptwarden.registry.Recency.newestFirst(m.values()).get(0)).isEqualTo(later);
    }

    /**
     * The clock steps back an hour right after a save's last write, so its file's time is ahead of the clock.
     * The agent sees it unchanged for the settle time and calls it complete then, not when the clock catches up
     * with the file an hour later: a save written and completed after the step must stay the newer one, the one
     * keep_last 1 keeps and resolve latest names.
     */
    @Test
    void aSaveFinishedJustBeforeTheClockSteppedBackDoesNotOvertakeTheSavesAfterIt() throws IOException {
        Instant written = clock.instant();
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=0-step=100.ckpt"), 0, 100, true, written);
        clock.set(written.minus(Duration.ofHours(1)));
        assertThat(scan().get("run/epoch=0-step=100.ckpt").state()).isEqualTo(CheckpointState.WRITING);
        clock.advance(SETTLE.plusSeconds(1));
        scan();
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=0-step=200.ckpt"), 0, 200, true, clock.instant());
        clock.advance(SETTLE.plusSeconds(1));
        scan();
        clock.set(written.plus(Duration.ofMinutes(5))); // the clock has caught up with the first file's time
        Map<String, Registered> m = scan();

        assertThat(m.values()).extracting(Registered::state).containsOnly(CheckpointState.COMPLETE);
        List<Registered> run = List.copyOf(m.values());
        assertThat(dev.ckptwarden.registry.Resolver.resolve(run, "latest", false, null)).get()
                .extracting(Registered::name).isEqualTo("epoch=0-step=200.ckpt");
        assertThat(dev.ckptwarden.policy.RetentionPolicy.decide(run, new dev.ckptwarden.config.Retention(1, null, null, null),
                clock.instant()))
                .filteredOn(dev.ckptwarden.policy.Decision::evictsNow).extracting(d -> d.checkpoint().name())
                .containsExactly("epoch=0-step=100.ckpt");
    }

    @Test
    void unchangedTreeIsNotInspectedAgain() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, T0);

        RootScan first = reconciler.reconcile(config, rootConfig);
        RootScan second = reconciler.reconcile(config, rootConfig);

        assertThat(first.inspected()).isEqualTo(2);
        assertThat(second.inspected()).isZero();
        assertThat(second.checkpoints()).extracting(Registered::state).containsOnly(CheckpointState.COMPLETE);

        // A rewrite (new size and mtime) is noticed and re-read.
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, false, T0.plusSeconds(60));
        RootScan third = reconciler.reconcile(config, rootConfig);
        assertThat(third.inspected()).isEqualTo(1);
        assertThat(scan().get("run/epoch=1-step=10.ckpt").resumable()).isFalse();
    }

    /**
     * Issue 17: the registry is the memory. A long-running agent held every checkpoint of every root between
     * passes (~600 bytes each, ~60 MiB resident at 100,000 checkpoints); once the caller lets go of a pass's
     * answer, nothing of it may stay reachable from the reconciler.
     */
    @Test
    void reconcilerKeepsNoCheckpointBetweenPasses() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, T0);
        reconciler.reconcile(config, rootConfig);
        RootScan warm = reconciler.reconcile(config, rootConfig); // the agent's periodic pass
        assertThat(warm.inspected()).isZero();
        java.lang.ref.WeakReference<Registered> held = new java.lang.ref.WeakReference<>(warm.checkpoints().get(0));
        warm = null;
        for (int i = 0; i < 20 && held.get() != null; i++) {
            System.gc();
        }
        assertThat(held.get()).as("a checkpoint of the last pass, still reachable after the pass").isNull();
        // ...and the next pass still knows the tree unchanged (no header read again).
        assertThat(reconciler.reconcile(config, rootConfig).inspected()).isZero();
    }

    /**
     * A directory of split-metric saves ({@code epoch=1-step=200-val/loss=0.70.ckpt}, part of run "exp") that
     * becomes a run directory of its own (another save lands in it) keeps its checkpoint registered: the pass
     * that settles run "exp" must not mark it deleted when the deeper run registers it.
     */
    @Test
    void aCheckpointThatMovesToADeeperRunDirectoryIsNotMarkedGone() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("exp/epoch=0-step=100.ckpt"), 0, 100, true, T0);
        Path split = TreeBuilder.lightningCkpt(root.resolve("exp/epoch=1-step=200-val/loss=0.70.ckpt"), 1, 200, true, T0);
        assertThat(scan().get("exp/epoch=1-step=200-val/loss=0.70.ckpt")).isNotNull();
        TreeBuilder.lightningCkpt(split.resolveSibling("model.ckpt"), 1, 200, true, T0);

        Map<String, Registered> after = scan();

        assertThat(after.get("exp/epoch=1-step=200-val/loss=0.70.ckpt")).as("registered under its new run").isNotNull();
        assertThat(registry.byPath(split.toString())).get().extracting(Registered::state).isEqualTo(CheckpointState.COMPLETE);
    }

    /** A pin written in this process (the HTTP API) between two passes shows in the next pass's answer. */
    @Test
    void aPinMadeBetweenPassesShowsInTheNextPass() throws IOException {
        Path ckpt = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        scan();
        registry.pin(ckpt.toString(), true, "keep for the paper");
        assertThat(scan().get("run/epoch=1-step=10.ckpt").pinned()).isTrue();
    }

    /** The reconciler owns its header-reading threads: closing it ends them (an agent stopped in a JVM that lives on). */
    @Test
    void closingTheReconcilerEndsItsHeaderReadingThreads() throws Exception {
        java.util.Set<Thread> before = inspectThreads();
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        assertThat(reconciler.reconcile(config, rootConfig).inspected()).isEqualTo(1);
        java.util.Set<Thread> mine = inspectThreads();
        mine.removeAll(before);
        assertThat(mine).isNotEmpty();
        reconciler.close();
        for (Thread t : mine) {
            t.join(10_000);
            assertThat(t.isAlive()).as(t.getName() + " still running after close()").isFalse();
        }
    }

    private static java.util.Set<Thread> inspectThreads() {
        java.util.Set<Thread> out = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("ckpt-warden-inspect")) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void freshFileIsWritingUntilItSettles() throws IOException {
        Instant now = clock.instant();
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, now.minusSeconds(3));

        assertThat(scan().get("run/epoch=2-step=20.ckpt").state()).isEqualTo(CheckpointState.WRITING);
        clock.advance(Duration.ofSeconds(8));
        assertThat(scan().get("run/epoch=2-step=20.ckpt").state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void clockSteppedBackKeepsAFileWriting() throws IOException {
        // mtime one hour ahead of the clock: never "settled" because of a negative age
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=2-step=20.ckpt"), 2, 20, true, clock.instant().plusSeconds(3600));
        assertThat(scan().get("run/epoch=2-step=20.ckpt").state()).isEqualTo(CheckpointState.WRITING);
    }

    @Test
    void settledButTruncatedZipIsCorrupt() throws IOException {
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=3-step=30.ckpt"), 3, 30, true, T0);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 30));
        TreeBuilder.touch(f, T0);

        Registered c = scan().get("run/epoch=3-step=30.ckpt");
        assertThat(c.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(c.problems()).isNotEmpty();
    }

    @Test
    void nemoUnfinishedMarkerKeepsItWritingUntilRemoved() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("nemo/megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0.ckpt"), 0, 1000,
                true, T0);
        Path marker = Files.writeString(root.resolve("nemo/megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0-unfinished"), "");
        TreeBuilder.touch(marker, T0);

        Registered c = scan().get("nemo/megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0.ckpt");
        assertThat(c.state()).isEqualTo(CheckpointState.WRITING);
        assertThat(c.framework()).isEqualTo(Framework.NEMO);
        assertThat(c.note()).contains("-unfinished");
        Files.delete(marker);
        assertThat(scan().get("nemo/megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0.ckpt").state())
                .isEqualTo(CheckpointState.COMPLETE);
    }

    /**
     * NeMo's save_top_k rotation puts the marker back beside a complete save before removing it (simulation
     * seed 500128): neither a pass nor resolve's look at the run may keep answering it as complete.
     */
    @Test
    void anUnfinishedMarkerThatAppearsBesideACompleteSaveMakesItWritingAgain() throws IOException {
        String file = "megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0";
        TreeBuilder.lightningCkpt(root.resolve("nemo/" + file + ".ckpt"), 0, 1000, true, T0);
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("nemo"), 2000, true, true, T0);
        Map<String, Registered> before = scan();
        assertThat(before.get("nemo/" + file + ".ckpt").state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(before.get("nemo/" + hf.getFileName()).state()).isEqualTo(CheckpointState.COMPLETE);

        TreeBuilder.touch(Files.writeString(root.resolve("nemo/" + file + "-unfinished"), ""), T0);
        TreeBuilder.touch(Files.writeString(root.resolve("nemo/" + hf.getFileName() + "-unfinished"), ""), T0);

        assertThat(reconciler.reconcileRun(config, rootConfig, "nemo")).allSatisfy(c ->
                assertThat(c.state()).as(c.name()).isEqualTo(CheckpointState.WRITING));
        Map<String, Registered> after = scan();
        assertThat(after.get("nemo/" + file + ".ckpt").state()).isEqualTo(CheckpointState.WRITING);
        assertThat(after.get("nemo/" + hf.getFileName()).state()).isEqualTo(CheckpointState.WRITING);
    }

    @Test
    void orbaxTemporaryDirectoryIsWriting() throws IOException {
        Path tmp = Files.createDirectories(root.resolve("jax/16.orbax-checkpoint-tmp-123214324/state"));
        TreeBuilder.touch(Files.writeString(tmp.resolve("_METADATA"), "{}"), T0);
        Path done = Files.createDirectories(root.resolve("jax/8"));
        TreeBuilder.touch(Files.writeString(done.resolve("_CHECKPOINT_METADATA"),
                "{\"commit_timestamp_nsecs\": 1, \"metrics\": {\"loss\": 0.5}}"), T0);

        Map<String, Registered> m = scan();
        assertThat(m.get("jax/16.orbax-checkpoint-tmp-123214324").state()).isEqualTo(CheckpointState.WRITING);
        assertThat(m.get("jax/16.orbax-checkpoint-tmp-123214324").step()).isEqualTo(16L);
        assertThat(m.get("jax/8").state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(m.get("jax/8").metrics()).containsEntry("loss", 0.5);
    }

    @Test
    void dcpWithoutMetadataIsWriting() throws IOException {
        Path dir = Files.createDirectories(root.resolve("fsdp/step-100"));
        TreeBuilder.touch(Files.write(dir.resolve("__0_0.distcp"), new byte[64]), T0);
        TreeBuilder.touch(Files.write(dir.resolve(".metadata.tmp"), new byte[]{(byte) 0x80, 4}), T0);
        Registered c = scan().get("fsdp/step-100");
        assertThat(c.framework()).isEqualTo(Framework.DCP);
        assertThat(c.state()).isEqualTo(CheckpointState.WRITING);
        assertThat(c.step()).isEqualTo(100L);
    }

    @Test
    void huggingFaceWithoutTrainerStateIsWritingAndWeightsOnlyIsNotResumable() throws IOException {
        TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, false, false, T0);
        TreeBuilder.hfCheckpoint(root.resolve("hf"), 1000, false, true, T0);
        Map<String, Registered> m = scan();
        assertThat(m.get("hf/checkpoint-500").state()).isEqualTo(CheckpointState.WRITING);
        assertThat(m.get("hf/checkpoint-1000").state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(m.get("hf/checkpoint-1000").resumable()).isFalse();
        assertThat(m.get("hf/checkpoint-1000").metrics()).containsEntry("eval_loss", 0.25);
    }

    @Test
    void deepSpeedTagWithMissingRankIsCorruptOnceSettled() throws IOException {
        Path tag = Files.createDirectories(root.resolve("ds/global_step100"));
        for (String n : List.of("mp_rank_00_model_states.pt", "zero_pp_rank_0_mp_rank_00_optim_states.pt",
                "zero_pp_rank_2_mp_rank_00_optim_states.pt")) {
            TreeBuilder.touch(Files.write(tag.resolve(n), new byte[16]), T0);
        }
        TreeBuilder.touch(Files.writeString(root.resolve("ds/latest"), "global_step100"), T0);
        Map<String, Registered> m = scan();
        assertThat(m.get("ds/global_step100").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("ds/global_step100").problems()).anyMatch(p -> p.contains("rank 1 missing"));
        assertThat(m.get("ds/latest").aliasOf()).isEqualTo(tag);
    }

    @Test
    void lightningMetricWithSlashIsOneCheckpointOfTheParentRun() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-val/loss=0.12.ckpt"), 1, 10, true, T0);
        TreeBuilder.lightningCkpt(root.resolve("run/epoch=2-val/loss=0.10.ckpt"), 2, 20, true, T0);
        Map<String, Registered> m = scan();
        assertThat(m).containsOnlyKeys("run/epoch=1-val/loss=0.12.ckpt", "run/epoch=2-val/loss=0.10.ckpt");
        assertThat(m.get("run/epoch=2-val/loss=0.10.ckpt").metrics()).containsEntry("val/loss", 0.10);
    }

    @Test
    void removedCheckpointIsMarkedDeletedAndKeptAsHistory() throws IOException {
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        scan();
        Files.delete(f);
        RootScan s = reconciler.reconcile(config, rootConfig);
        assertThat(s.gone()).isEqualTo(1);
        assertThat(registry.byPath(f.toString()).orElseThrow().state()).isEqualTo(CheckpointState.DELETED);
        assertThat(registry.list(null, null, true)).hasSize(1);
        assertThat(registry.list(null, null, false)).isEmpty();
    }

    @Test
    void pinFromAnotherProcessIsSeenByTheNextPass() throws IOException {
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        scan();
        scan(); // the second pass reuses the reconciler's own view of the registry
        try (SqliteRegistry other = SqliteRegistry.open(state)) {
            assertThat(other.pin(f.toString(), true, "paper baseline")).isTrue();
        }
        Registered c = scan().get("run/epoch=1-step=10.ckpt");
        assertThat(c.pinned()).isTrue();
        assertThat(c.pinReason()).isEqualTo("paper baseline");
    }

    /**
     * An agent that never saw the root holding checkpoints (it started after it emptied) cannot tell an emptied
     * root from an unmounted one (see EmptiedRootTest for the agent that did).
     */
    @Test
    void aRootFoundEmptyByAFreshlyStartedAgentLooksUnmountedAndNothingIsMarkedDeleted() throws IOException {
        Path f = TreeBuilder.lightningCkpt(root.resolve("run/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        scan();
        Files.delete(f);
        Files.delete(f.getParent());
        reconciler.close();
        reconciler = new Reconciler(registry, clock); // a restart: nothing remembered of the root
        RootScan s = reconciler.reconcile(config, rootConfig);
        assertThat(s.gone()).isZero();
        assertThat(s.problems()).anyMatch(p -> p.message().contains("not mounted"));
        assertThat(registry.byPath(f.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
    }

    @Test
    void trashDirectoryIsNeverCatalogued() throws IOException {
        TreeBuilder.lightningCkpt(root.resolve(".ckpt-warden-trash/1/epoch=1-step=10.ckpt"), 1, 10, true, T0);
        assertThat(scan()).isEmpty();
    }
}
