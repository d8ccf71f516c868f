package dev.ckptwarden.watch;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.policy.Decision;
import dev.ckptwarden.policy.RetentionPolicy;
import dev.ckptwarden.policy.Verdict;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Resolver;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.Corpus;
import dev.ckptwarden.testing.MutableClock;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Saves the frameworks do not mark as finished: a part missing from a shard set whose size the
 * checkpoint records, staging directories, and a save that pauses longer than the settle time.
 */
class IncompleteSaveTest {
    private static final Instant LONG_AGO = Instant.parse("2026-01-01T12:00:00Z");
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
        clock = new MutableClock(LONG_AGO.plus(Duration.ofHours(1)));
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

    private static List<Registered> run(Map<String, Registered> all, String run) {
        return all.values().stream().filter(c -> c.run().equals(run)).toList();
    }

    @Test
    void deepSpeedSaveMissingItsHighestRankIsCorruptAndNeitherResolvedNorProtectedAsNewest() throws IOException {
        Path ds = root.resolve("ds");
        Path intact = TreeBuilder.deepSpeedTag(ds.resolve("global_step200"), 200, 2, 1, false, LONG_AGO);
        TreeBuilder.deepSpeedTag(ds.resolve("global_step300"), 300, 2, 1, false, LONG_AGO.plusSeconds(60),
                "zero_pp_rank_1_mp_rank_00_optim_states.pt");
        TreeBuilder.touch(Files.writeString(ds.resolve("latest"), "global_step300"), LONG_AGO.plusSeconds(60));

        Map<String, Registered> m = scan();

        assertThat(m.get("ds/global_step200").state()).isEqualTo(CheckpointState.COMPLETE);
        Registered broken = m.get("ds/global_step300");
        assertThat(broken.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(broken.problems())
                .contains("missing rank 1 of dp_world_size 2: zero_pp_rank_1_mp_rank_00_optim_states.pt");
        assertThat(Resolver.resolve(run(m, "ds"), "latest", false, null)).map(Registered::path).contains(intact);

        List<Decision> decisions = RetentionPolicy.decide(run(m, "ds"), new Retention(1, null, null, null), clock.instant());
        assertThat(decisions).filteredOn(d -> d.checkpoint().path().equals(intact))
                .extracting(Decision::verdict).containsExactly(Verdict.KEEP);
        assertThat(decisions).filteredOn(d -> d.verdict() == Verdict.EVICT).isEmpty();
    }

    /** Found by the simulation campaign (seed 2): rank 0 killed half-way through its model-states file. */
    @Test
    void deepSpeedSaveWhoseModelStatesFileIsCutShortIsCorruptNotComplete() throws IOException {
        Path ds = root.resolve("ds");
        Path intact = TreeBuilder.deepSpeedTag(ds.resolve("global_step200"), 200, 2, 1, false, LONG_AGO);
        Path cut = TreeBuilder.deepSpeedTag(ds.resolve("global_step300"), 300, 2, 1, false, LONG_AGO.plusSeconds(60),
                "zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt");
        Path modelStates = cut.resolve("mp_rank_00_model_states.pt");
        byte[] whole = Files.readAllBytes(modelStates);
        Files.write(modelStates, java.util.Arrays.copyOf(whole, whole.length / 2));
        TreeBuilder.touch(modelStates, LONG_AGO.plusSeconds(60));

        Map<String, Registered> m = scan();

        Registered broken = m.get("ds/global_step300");
        assertThat(broken.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(broken.problems()).anySatisfy(p -> assertThat(p).startsWith("mp_rank_00_model_states.pt: "));
        assertThat(Resolver.resolve(run(m, "ds"), "latest", false, null)).map(Registered::path).contains(intact);
    }

    /**
     * Found by the fault campaign (seed 14, ENOSPC): the disk filled as rank 0 opened its model-states file, which
     * stayed empty; with no header to read and no rank gap, the tag counted as complete and resolve answered it.
     */
    @Test
    void deepSpeedSaveWhoseModelStatesFileIsEmptyAfterADiskFullIsCorruptNotComplete() throws IOException {
        Path ds = root.resolve("ds");
        Path intact = TreeBuilder.deepSpeedTag(ds.resolve("global_step200"), 200, 2, 1, false, LONG_AGO);
        Path full = Files.createDirectories(ds.resolve("global_step300"));
        TreeBuilder.touch(Files.write(full.resolve("mp_rank_00_model_states.pt"), new byte[0]), LONG_AGO.plusSeconds(60));

        Map<String, Registered> m = scan();

        Registered broken = m.get("ds/global_step300");
        assertThat(broken.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(broken.problems()).anySatisfy(p -> assertThat(p).startsWith("mp_rank_00_model_states.pt: empty"));
        assertThat(Resolver.resolve(run(m, "ds"), "latest", false, null)).map(Registered::path).contains(intact);
    }

    /** Found by the simulation campaign (seed 2): both ranks killed before any optimizer shard was written. */
    @Test
    void zeroSaveWithItsModelStatesButNoOptimizerShardAtAllIsCorrupt() throws IOException {
        Path ds = root.resolve("ds");
        Path intact = TreeBuilder.deepSpeedTag(ds.resolve("global_step200"), 200, 2, 1, false, LONG_AGO);
        TreeBuilder.deepSpeedTag(ds.resolve("global_step300"), 300, 2, 1, false, LONG_AGO.plusSeconds(60),
                "zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt");

        Map<String, Registered> m = scan();

        Registered broken = m.get("ds/global_step300");
        assertThat(broken.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(broken.problems())
                .contains("missing rank 0 of dp_world_size 2: zero_pp_rank_0_mp_rank_00_optim_states.pt");
        assertThat(Resolver.resolve(run(m, "ds"), "latest", false, null)).map(Registered::path).contains(intact);
    }

    @Test
    void zero3SaveMissingADataParallelRankIsCorruptAndACompleteOneIsComplete() throws IOException {
        TreeBuilder.deepSpeedTag(root.resolve("z3/global_step100"), 100, 2, 1, true, LONG_AGO);
        TreeBuilder.deepSpeedTag(root.resolve("z3/global_step200"), 200, 2, 1, true, LONG_AGO,
                "bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_model_states.pt");

        Map<String, Registered> m = scan();

        assertThat(m.get("z3/global_step100").state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(m.get("z3/global_step200").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("z3/global_step200").problems()).containsExactly(
                "missing rank 1 of dp_world_size 2: zero_pp_rank_1_mp_rank_00_model_states.pt",
                "missing rank 1 of dp_world_size 2: bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
    }

    @Test
    void modelParallelSaveMissingItsLastModelRankIsCorrupt() throws IOException {
        TreeBuilder.deepSpeedTag(root.resolve("mp/global_step100"), 100, 1, 2, false, LONG_AGO,
                "mp_rank_01_model_states.pt", "zero_pp_rank_0_mp_rank_01_optim_states.pt");

        Registered c = scan().get("mp/global_step100");

        assertThat(c.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(c.problems()).containsExactly(
                "missing rank 1 of mp_world_size 2: mp_rank_01_model_states.pt",
                "missing rank 1 of mp_world_size 2: zero_pp_rank_0_mp_rank_01_optim_states.pt");
    }

    @Test
    void huggingFaceCheckpointWhoseDeepSpeedTagMissesItsHighestRankIsCorrupt() throws IOException {
        Path hf = TreeBuilder.hfCheckpoint(root.resolve("hf"), 100, false, true, LONG_AGO);
        TreeBuilder.deepSpeedTag(hf.resolve("global_step100"), 100, 2, 1, true, LONG_AGO,
                "bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
        TreeBuilder.touch(hf, LONG_AGO);

        Registered c = scan().get("hf/checkpoint-100");

        assertThat(c.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(c.problems()).containsExactly(
                "global_step100: missing rank 1 of dp_world_size 2: bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
    }

    @Test
    void pausedSaveIsWritingThroughTheGraceThenCorruptLoggedOnce() throws IOException {
        Logger logger = (Logger) LoggerFactory.getLogger(Reconciler.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            Path tag = TreeBuilder.deepSpeedTag(root.resolve("ds/global_step300"), 300, 2, 1, false,
                    clock.instant().minusSeconds(3), "zero_pp_rank_1_mp_rank_00_optim_states.pt");

            assertThat(scan().get("ds/global_step300").state()).isEqualTo(CheckpointState.WRITING);
            // Rank 1 is slow: past the settle time, but within the grace, it is still a save in progress.
            clock.advance(Duration.ofSeconds(20));
            Registered paused = scan().get("ds/global_step300");
            assertThat(paused.state()).isEqualTo(CheckpointState.WRITING);
            assertThat(paused.note()).contains("missing rank 1");
            clock.advance(Duration.ofSeconds(50)); // 73 s quiet: settle time 10 s + grace 60 s have passed
            assertThat(scan().get("ds/global_step300").state()).isEqualTo(CheckpointState.CORRUPT);
            scan();
            clock.advance(Duration.ofMinutes(5));
            scan();

            List<ILoggingEvent> corrupt = logged.list.stream()
                    .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains(tag.toString())).toList();
            assertThat(corrupt).hasSize(1);
            assertThat(corrupt.get(0).getFormattedMessage())
                    .contains("corrupt", "missing rank 1 of dp_world_size 2: zero_pp_rank_1_mp_rank_00_optim_states.pt");
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void huggingFaceStagingDirectoryIsAWritingCheckpointAndItsFilesAreNotCheckpoints() throws IOException {
        Path done = TreeBuilder.hfCheckpoint(root.resolve("hf"), 500, true, true, LONG_AGO);
        // transformers >= 4.35 saves into tmp-checkpoint-N/ and renames it; a crash leaves it, with or
        // without trainer_state.json.
        Path staged = Files.createDirectories(root.resolve("hf/tmp-checkpoint-1000"));
        TreeBuilder.safetensors(staged.resolve("model.safetensors"), LONG_AGO);
        TreeBuilder.touch(staged, LONG_AGO);
        Path full = TreeBuilder.hfCheckpoint(root.resolve("hf/staging"), 1500, true, true, LONG_AGO);
        Path stagedFull = Files.move(full, root.resolve("hf/tmp-checkpoint-1500"));

        Map<String, Registered> m = scan();

        assertThat(m.keySet()).containsExactlyInAnyOrder("hf/checkpoint-500", "hf/tmp-checkpoint-1000",
                "hf/tmp-checkpoint-1500");
        for (Path p : List.of(staged, stagedFull)) {
            Registered c = m.get("hf/" + p.getFileName());
            assertThat(c.state()).as(c.name()).isEqualTo(CheckpointState.WRITING);
            assertThat(c.note()).as(c.name()).contains("staging");
        }
        assertThat(Resolver.resolve(run(m, "hf"), "latest", false, null)).map(Registered::path).contains(done);
    }

    @Test
    void nemoDirectoryWithItsUnfinishedMarkerIsOneWritingCheckpoint() throws IOException {
        // NeMo writes weights/ (a DCP save) before context/; until then the directory matches no layout.
        String name = "megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0";
        Path weights = Files.createDirectories(root.resolve("nemo/" + name + "/weights"));
        TreeBuilder.touch(Files.write(weights.resolve("__0_0.distcp"), new byte[64]), LONG_AGO);
        TreeBuilder.touch(Files.write(weights.resolve(".metadata"), new byte[]{(byte) 0x80, 4, '}', '.'}), LONG_AGO);
        TreeBuilder.touch(Files.writeString(root.resolve("nemo/" + name + "-unfinished"), ""), LONG_AGO);

        Map<String, Registered> m = scan();

        assertThat(m.keySet()).containsExactly("nemo/" + name);
        assertThat(m.get("nemo/" + name).state()).isEqualTo(CheckpointState.WRITING);
        assertThat(m.get("nemo/" + name).note()).contains("-unfinished");
    }

    /** A real two-rank torch.distributed.checkpoint save (committed by accident to Lightning's repository). */
    private static Path copyRealDcpSave(Path dir) throws IOException {
        Path real = Corpus.file("dcp/Lightning-AI__pytorch-lightning/<_io.BufferedRandom name=105>");
        Files.createDirectories(dir);
        for (String f : List.of(".metadata", "__0_0.distcp", "__1_0.distcp")) {
            TreeBuilder.touch(Files.copy(real.resolve(f), dir.resolve(f)), LONG_AGO);
        }
        return dir;
    }

    @Test
    void dcpSaveMissingAStorageFileItsMetadataNamesIsCorrupt() throws IOException {
        for (String step : List.of("step-100", "step-200", "step-300")) {
            copyRealDcpSave(root.resolve("fsdp/" + step));
        }
        Files.delete(root.resolve("fsdp/step-200/__1_0.distcp"));
        Path cut = root.resolve("fsdp/step-300/__0_0.distcp");
        byte[] all = Files.readAllBytes(cut);
        TreeBuilder.touch(Files.write(cut, java.util.Arrays.copyOf(all, 1000)), LONG_AGO);

        Map<String, Registered> m = scan();

        assertThat(m.get("fsdp/step-100").state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(m.get("fsdp/step-200").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("fsdp/step-200").problems()).containsExactly("missing __1_0.distcp named by .metadata");
        assertThat(m.get("fsdp/step-300").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("fsdp/step-300").problems()).singleElement().asString()
                .startsWith("__0_0.distcp is 1000 bytes, .metadata places data up to byte ");
    }

    @Test
    void nemoAndMegatronDistributedSavesMissingAStorageFileAreCorrupt() throws IOException {
        String name = "megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0";
        Path nemo = root.resolve("nemo/" + name);
        copyRealDcpSave(nemo.resolve("weights"));
        TreeBuilder.touch(Files.writeString(nemo.resolve("weights/metadata.json"), "{\"sharded_backend\": \"torch_dist\"}"), LONG_AGO);
        TreeBuilder.touch(Files.writeString(Files.createDirectories(nemo.resolve("context")).resolve("model.yaml"), "a: 1"), LONG_AGO);
        Files.delete(nemo.resolve("weights/__1_0.distcp"));
        Path iter = copyRealDcpSave(root.resolve("megatron/iter_0000100"));
        TreeBuilder.touch(Files.writeString(iter.resolve("metadata.json"), "{\"sharded_backend\": \"torch_dist\"}"), LONG_AGO);
        TreeBuilder.touch(dev.ckptwarden.cli.SampleFiles.torchZip(iter.resolve("common.pt"), Map.of("iteration", 100)), LONG_AGO);
        Files.delete(iter.resolve("__0_0.distcp"));
        for (Path dir : List.of(nemo.resolve("weights"), nemo.resolve("context"), nemo, iter)) {
            TreeBuilder.touch(dir, LONG_AGO);
        }

        Map<String, Registered> m = scan();

        assertThat(m.get("nemo/" + name).state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("nemo/" + name).problems()).containsExactly("missing weights/__1_0.distcp named by weights/.metadata");
        assertThat(m.get("megatron/iter_0000100").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("megatron/iter_0000100").problems()).containsExactly("missing __0_0.distcp named by .metadata");
    }

    /** A Megatron-LM rank file: {@code torch.save} of a dict whose {@code args} is the run's argparse.Namespace. */
    private static void megatronRank(Path file, int tp, int pp) throws IOException {
        Map<String, Object> args = new java.util.LinkedHashMap<>();
        args.put("tensor_model_parallel_size", tp);
        args.put("pipeline_model_parallel_size", pp);
        args.put("save_interval", 100);
        Map<String, Object> header = new java.util.LinkedHashMap<>();
        header.put("args", new dev.ckptwarden.cli.SampleFiles.PyInstance("argparse", "Namespace", args));
        header.put("checkpoint_version", 3);
        header.put("iteration", 100);
        header.put("model", Map.of());
        header.put("optimizer", Map.of("state", Map.of()));
        TreeBuilder.touch(dev.ckptwarden.cli.SampleFiles.torchZip(file, header), LONG_AGO);
        TreeBuilder.touch(file.getParent(), LONG_AGO);
    }

    @Test
    void megatronSaveMissingItsLastTensorParallelRankIsCorrupt() throws IOException {
        megatronRank(root.resolve("megatron/iter_0000100/mp_rank_00/model_optim_rng.pt"), 2, 1);
        megatronRank(root.resolve("megatron/iter_0000100/mp_rank_01/model_optim_rng.pt"), 2, 1);
        megatronRank(root.resolve("megatron/iter_0000200/mp_rank_00/model_optim_rng.pt"), 2, 1);
        megatronRank(root.resolve("megatron/iter_0000300/mp_rank_00_000/model_optim_rng.pt"), 1, 2);
        for (String iter : List.of("iter_0000100", "iter_0000200", "iter_0000300")) {
            TreeBuilder.touch(root.resolve("megatron/" + iter), LONG_AGO);
        }

        Map<String, Registered> m = scan();

        assertThat(m.get("megatron/iter_0000100").state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(m.get("megatron/iter_0000200").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("megatron/iter_0000200").problems())
                .containsExactly("missing rank 1 of tensor_model_parallel_size 2: mp_rank_01/model_optim_rng.pt");
        assertThat(m.get("megatron/iter_0000300").problems()).containsExactly(
                "missing rank 0 of tensor_model_parallel_size 1, stage 1 of pipeline_model_parallel_size 2: "
                        + "mp_rank_00_001/model_optim_rng.pt");
    }

    @Test
    void lightningShardedSavesMissingAPartAreCorrupt() throws IOException {
        // FSDP strategy: a DCP save plus meta.pt, written last.
        Path fsdp = copyRealDcpSave(root.resolve("pl/epoch=1-step=100.ckpt"));
        TreeBuilder.touch(dev.ckptwarden.cli.SampleFiles.torchZip(fsdp.resolve("meta.pt"), Map.of("epoch", 1, "global_step", 100)),
                LONG_AGO);
        Files.delete(fsdp.resolve("__1_0.distcp"));
        TreeBuilder.touch(fsdp, LONG_AGO);
        // DeepSpeed strategy: engine.save_checkpoint(path, tag="checkpoint") plus the latest tag file.
        Path ds = root.resolve("pl/epoch=2-step=200.ckpt");
        TreeBuilder.deepSpeedTag(ds.resolve("checkpoint"), 200, 2, 1, false, LONG_AGO, "zero_pp_rank_1_mp_rank_00_optim_states.pt");
        TreeBuilder.touch(Files.writeString(ds.resolve("latest"), "checkpoint"), LONG_AGO);
        TreeBuilder.touch(ds, LONG_AGO);

        Map<String, Registered> m = scan();

        assertThat(m.get("pl/epoch=1-step=100.ckpt").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("pl/epoch=1-step=100.ckpt").problems()).containsExactly("missing __1_0.distcp named by .metadata");
        assertThat(m.get("pl/epoch=2-step=200.ckpt").state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(m.get("pl/epoch=2-step=200.ckpt").problems())
                .containsExactly("missing rank 1 of dp_world_size 2: zero_pp_rank_1_mp_rank_00_optim_states.pt");
    }
}
