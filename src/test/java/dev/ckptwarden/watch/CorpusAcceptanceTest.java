package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.Corpus;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.ckptwarden.catalog.CheckpointKind.DIRECTORY;
import static dev.ckptwarden.catalog.CheckpointKind.FILE;
import static dev.ckptwarden.catalog.CheckpointState.COMPLETE;
import static dev.ckptwarden.catalog.CheckpointState.CORRUPT;
import static dev.ckptwarden.catalog.Framework.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole real-artifact corpus scanned as one root: every checkpoint recognised with the framework,
 * kind, state, epoch, step, metrics and resumability that SOURCES.md's facts say, and every negative
 * (Git LFS pointer, Flutter .metadata, Windows-checkout symlink text files, a final trainer_state.json
 * without weights, auxiliary files) rejected.
 */
class CorpusAcceptanceTest {
    private static final String ORBAX = "orbax/google__orbax/checkpoint/orbax/checkpoint/experimental/v1/_src/testing/compatibility/";

    record Expect(Framework framework, CheckpointKind kind, CheckpointState state, Integer epoch, Long step, Boolean resumable,
                  Map<String, Double> metrics) {
    }

    private static final Map<String, Expect> EXPECTED = new LinkedHashMap<>();

    private static void expect(String path, Framework f, CheckpointKind k, CheckpointState s, Integer epoch, Long step,
                               Boolean resumable, Object... metrics) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < metrics.length; i += 2) {
            m.put((String) metrics[i], (Double) metrics[i + 1]);
        }
        EXPECTED.put(path, new Expect(f, k, s, epoch, step, resumable, m));
    }

    static {
        // Lightning: epoch from the name when it has one, else from the checkpoint's own header; global_step
        // and optimizer state from the header (SOURCES.md "Facts extracted from the Lightning checkpoints").
        expect("lightning/Elendil-Q__aegnn/last.ckpt", LIGHTNING, FILE, COMPLETE, 46, 18676L, true);
        expect("lightning/LanceKnight__MolKGNN/last.ckpt", LIGHTNING, FILE, COMPLETE, 2002, 4003L, true);
        String lucas = "lightning/LucasUnizar__DeepONets-Lightning/";
        expect(lucas + "checkpoints/deeponet-epoch=05-val_loss=2.77e-01.ckpt", LIGHTNING, FILE, COMPLETE, 5, 96L, true, "val_loss", 0.277);
        expect(lucas + "checkpoints/deeponet-epoch=09-val_loss=1.45e-01.ckpt", LIGHTNING, FILE, COMPLETE, 9, 160L, true, "val_loss", 0.145);
        expect(lucas + "checkpoints/deeponet-epoch=96-val_loss=2.03e-02.ckpt", LIGHTNING, FILE, COMPLETE, 96, 3880L, true, "val_loss", 0.0203);
        expect(lucas + "material/saved_models/RD/deeponet-epoch=982-val_loss=5.25e-05.ckpt", LIGHTNING, FILE, COMPLETE, 982, 39320L,
                true, "val_loss", 5.25e-05);
        expect(lucas + "material/saved_models/RD/DeepONet-RD-epoch=2953-val_loss=0.00.ckpt", LIGHTNING, FILE, COMPLETE, 2953, 1155014L,
                true, "val_loss", 0.0);
        expect("lightning/Plozel__MAFAT-Radar_Challenge/last.ckpt", LIGHTNING, FILE, COMPLETE, 2, 3L, true);
        String cotic = "lightning/VladislavZh__COTIC/checkpoints/";
        expect(cotic + "epoch_000.ckpt", LIGHTNING, FILE, COMPLETE, 0, 1327L, true);
        expect(cotic + "epoch_001.ckpt", LIGHTNING, FILE, COMPLETE, 1, 532L, true);
        expect(cotic + "epoch_040.ckpt", LIGHTNING, FILE, COMPLETE, 40, 10906L, true);
        expect(cotic + "last.ckpt", LIGHTNING, FILE, COMPLETE, 0, 1327L, true);
        expect(cotic + "last-v1.ckpt", LIGHTNING, FILE, COMPLETE, 41, 11172L, true);
        expect(cotic + "last-v2.ckpt", LIGHTNING, FILE, COMPLETE, 1, 532L, true);
        // Lightning 1.0.3 legacy pickle: the name says epoch 0 (the header stores epoch+1); accepted on settle time.
        expect("lightning/alexey-pronkin__annealed/lightning_logs/version_0/checkpoints/epoch=0.ckpt", LIGHTNING, FILE, COMPLETE, 0,
                3000L, true);
        expect("lightning/annshorn__EyeTrackDiagError/last.ckpt", LIGHTNING, FILE, COMPLETE, 399, 20400L, true);
        expect("lightning/ctlaltdefeat__imbalanced-gan-translation/last.ckpt", LIGHTNING, FILE, COMPLETE, 7376, 7377L, true);
        expect("lightning/dsgt-kaggle-clef__plantclef-2024/notebooks/modeling/last.ckpt", LIGHTNING, FILE, COMPLETE, 9, 291L, true);
        String ko = "lightning/ko120__DM-Benchmark/checkpoints/";
        expect(ko + "epoch_008.ckpt", LIGHTNING, FILE, COMPLETE, 8, 5922L, true);
        expect(ko + "epoch_008-v1.ckpt", LIGHTNING, FILE, COMPLETE, 8, 5922L, true);
        expect(ko + "epoch_008-v7.ckpt", LIGHTNING, FILE, COMPLETE, 8, 5922L, true);
        expect(ko + "epoch_019.ckpt", LIGHTNING, FILE, COMPLETE, 19, 3280L, true);
        expect(ko + "last-v1.ckpt", LIGHTNING, FILE, COMPLETE, 19, 13160L, true);
        expect(ko + "last-v38.ckpt", LIGHTNING, FILE, COMPLETE, 19, 13160L, true);
        expect("lightning/nmourdo__extreme_event_prediction/lightning_logs/version_4/checkpoints/epoch=0-step=50.ckpt", LIGHTNING, FILE,
                COMPLETE, 0, 50L, true);

        // Hugging Face: step and (whole) epoch from trainer_state.json. Weights and optimizer.pt were absent from
        // the snapshot for all but subro608's newest checkpoint, so the others are corrupt ("no model weights").
        expect("hf_trainer/protaxY__MAI_Moscow_3D_segmentation/checkpoint-500", HUGGINGFACE, DIRECTORY, CORRUPT, 31, 500L, null,
                "eval_loss", 0.7737733125686646);
        expect("hf_trainer/thititj__text-sentiment-api/checkpoint-500", HUGGINGFACE, DIRECTORY, CORRUPT, 1, 500L, null,
                "eval_loss", 0.7639023065567017);
        String subro = "hf_trainer/subro608__Deep_learning_Bert_project2/";
        for (long step : new long[]{500, 1000, 1500, 2000}) {
            expect(subro + "checkpoint-" + step, HUGGINGFACE, DIRECTORY, CORRUPT, 0, step, null);
        }
        // Newest one has its PEFT adapter but no optimizer.pt: complete, weights only.
        expect(subro + "checkpoint-2400", HUGGINGFACE, DIRECTORY, COMPLETE, 0, 2400L, false, "eval_loss", 0.30624502897262573);
        String peft = "hf_trainer/huggingface__peft/examples/monteclora_finetuning/monteclora-roberta-mrpc/";
        expect(peft + "checkpoint-230", HUGGINGFACE, DIRECTORY, CORRUPT, 1, 230L, null, "eval_f1", 0.8688524590163934);
        expect(peft + "checkpoint-460", HUGGINGFACE, DIRECTORY, CORRUPT, 2, 460L, null, "eval_f1", 0.8982456140350877);

        expect("dcp/Lightning-AI__pytorch-lightning/<_io.BufferedRandom name=105>", DCP, DIRECTORY, COMPLETE, null, null, true);
        // The 'latest' tag names a directory that is not in the snapshot: a dangling alias.
        expect("deepspeed/JHU-WORK__ESMnrg/checkpoints/latest", DEEPSPEED, FILE, CORRUPT, null, null, null);

        expect("keras_tf/SPD3__TensorflowTesting/training_1/cp.ckpt", TENSORFLOW, FILE, COMPLETE, null, null, null);
        expect("keras_tf/SPD3__TensorflowTesting/training_1/cp.ckpt2", TENSORFLOW, FILE, CORRUPT, null, null, null);
        for (int step = 3000; step <= 3200; step += 50) {
            expect("keras_tf/costagreg__mnist-handwritten-ml/cn_test_0001/training-" + step, TENSORFLOW, FILE, COMPLETE, null,
                    (long) step, null);
        }
        expect("keras_tf/keras-team__keras/keras/mixed_precision/testdata/lso_ckpt_tf2.2/ckpt", TENSORFLOW, FILE, COMPLETE, null, null,
                null);
        expect("keras_tf/amoazeni75__diabetes-classification/model.h5", KERAS, FILE, COMPLETE, null, null, null);
        expect("keras_tf/amoazeni75__diabetes-classification/weights.best.hdf5", KERAS, FILE, COMPLETE, null, null, null);
        expect("keras_tf/keras-team__keras/model.keras", KERAS, FILE, COMPLETE, null, null, null);
        expect("keras_tf/keras-team__keras/keras/src/saving/test_data/pre_pr22362_nested_container.keras", KERAS, FILE, COMPLETE, null,
                null, null);

        for (String repo : new String[]{"Aarvis__RO-openpi", "Gauravrakesh__Build-and-Train-an-LLM-with-JAX",
                "zxxfack__google-timesfm-2.0-500m-jax"}) {
            expect("orbax/" + repo, Framework.ORBAX, DIRECTORY, COMPLETE, null, null, null);
        }
        for (String kind : new String[]{"composite_checkpoint", "direct_checkpoint"}) {
            for (String meta : new String[]{"has_metadata", "missing_metadata"}) {
                expect(ORBAX + "checkpoints/v0_checkpoints/" + kind + "/checkpoint_metadata_present/pytree_checkpointable_" + meta,
                        Framework.ORBAX, DIRECTORY, COMPLETE, null, null, null);
            }
        }
        for (String meta : new String[]{"has_metadata", "missing_metadata"}) {
            expect(ORBAX + "checkpoints/v1_checkpoints/composite_checkpoint/checkpoint_metadata_present/pytree_checkpointable_" + meta,
                    Framework.ORBAX, DIRECTORY, COMPLETE, null, null, null);
        }
        for (String v : new String[]{"v0_managed", "v1_managed"}) {
            for (String custom : new String[]{"has_custom_metadata", "no_custom_metadata"}) {
                expect(ORBAX + "managed_checkpoints/" + v + "/has_metrics/" + custom + "/0", Framework.ORBAX, DIRECTORY, COMPLETE, null, 0L,
                        null, "loss", 0.5);
                expect(ORBAX + "managed_checkpoints/" + v + "/no_metrics/" + custom + "/0", Framework.ORBAX, DIRECTORY, COMPLETE, null, 0L,
                        null);
            }
        }

        for (String s : new String[]{"H", "b", "d", "overall"}) {
            expect("safetensors/huggingface__safetensors/samples/" + s + ".safetensors", SAFETENSORS, FILE, COMPLETE, null, null, false);
        }
        expect("safetensors/huggingface__peft/results_glue/adapter_ckpt/adapter_model.safetensors", SAFETENSORS, FILE, COMPLETE, null,
                null, false);
        // Sharded indexes naming shards that are not present: "index naming a missing shard".
        expect("safetensors/PANDASANG1231__llama_3.2-3B-huggingface-shard0/model.safetensors.index.json", SAFETENSORS, FILE, CORRUPT,
                null, null, false);
        expect("safetensors/junqi-jiang__oasstpythia1.5brm/model.safetensors.index.json", SAFETENSORS, FILE, CORRUPT, null, null, false);

        expect("torch_other/NVIDIA__NeMo/scripts/JasperDecoderForCTC-STEP-243800.pt", NEMO, FILE, COMPLETE, null, 243800L, false);
        expect("torch_other/blaneart__ganVanGogh/taming/modules/autoencoder/lpips/vgg.pth", TORCH, FILE, COMPLETE, null, null, false);
        // Composer: epoch from the name, step from the state's Timestamp (batch 10).
        expect("torch_other/mosaicml__composer/docs/runs/2022-03-09T14-16-11.987733/rank_0/checkpoints/ep1.pt", COMPOSER, FILE, COMPLETE,
                1, 10L, true);
    }

    static Map<String, Registered> found;
    static Path corpus;

    @BeforeAll
    static void scanCorpus(@TempDir Path state) {
        corpus = Corpus.root();
        RootConfig root = RootConfig.watchOnly(corpus.toString());
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(root));
        // Far enough after the corpus files' modification times that everything has settled.
        Clock clock = Clock.fixed(Instant.now().plus(Duration.ofDays(1)), ZoneOffset.UTC);
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            RootScan scan = new Reconciler(registry, clock).reconcile(config, root);
            assertThat(scan.reachable()).isTrue();
            found = new TreeMap<>();
            for (Registered c : scan.checkpoints()) {
                found.put(corpus.relativize(c.path()).toString(), c);
            }
        }
    }

    @Test
    void recognisesExactlyTheCheckpointsOfTheCorpusAndNoNegative() {
        assertThat(found.keySet()).containsExactlyInAnyOrderElementsOf(EXPECTED.keySet());
    }

    @Test
    void everyCheckpointHasTheFactsOfSourcesMd() {
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, Expect> e : EXPECTED.entrySet()) {
            Registered c = found.get(e.getKey());
            if (c == null) {
                mismatches.add(e.getKey() + ": not recognised");
                continue;
            }
            Expect x = e.getValue();
            check(mismatches, e.getKey(), "framework", x.framework(), c.framework());
            check(mismatches, e.getKey(), "kind", x.kind(), c.kind());
            check(mismatches, e.getKey(), "state", x.state(), c.state());
            check(mismatches, e.getKey(), "epoch", x.epoch(), c.epoch());
            check(mismatches, e.getKey(), "step", x.step(), c.step());
            check(mismatches, e.getKey(), "resumable", x.resumable(), c.resumable());
            for (Map.Entry<String, Double> m : x.metrics().entrySet()) {
                Double got = c.metrics().get(m.getKey());
                if (got == null || Math.abs(got - m.getValue()) > 1e-9) {
                    mismatches.add(e.getKey() + ": metric " + m.getKey() + " expected " + m.getValue() + " got " + got);
                }
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void byteIdenticalLastCkptIsAnAliasOfItsTwin() {
        Registered last = found.get("lightning/VladislavZh__COTIC/checkpoints/last-v2.ckpt");
        assertThat(last.aliasOf()).isEqualTo(corpus.resolve("lightning/VladislavZh__COTIC/checkpoints/epoch_001.ckpt"));
        // Same run, different bytes: not an alias.
        assertThat(found.get("lightning/VladislavZh__COTIC/checkpoints/last.ckpt").aliasOf()).isNull();
    }

    @Test
    void deepSpeedLatestTagPointsAtItsCustomTagDirectory() {
        Registered latest = found.get("deepspeed/JHU-WORK__ESMnrg/checkpoints/latest");
        assertThat(latest.aliasOf()).isEqualTo(corpus.resolve("deepspeed/JHU-WORK__ESMnrg/checkpoints/ESMnrgFullMoE_e1_t2-esm2_t33_650M_UR50D"));
        assertThat(latest.problems()).anyMatch(p -> p.contains("does not exist"));
    }

    @Test
    void brokenCheckpointsSayWhatIsWrong() {
        assertThat(found.get("keras_tf/SPD3__TensorflowTesting/training_1/cp.ckpt2").problems()).anyMatch(p -> p.contains("data shard"));
        assertThat(found.get("safetensors/junqi-jiang__oasstpythia1.5brm/model.safetensors.index.json").problems())
                .anyMatch(p -> p.contains("model-00001-of-00006.safetensors") && p.contains("missing"));
        assertThat(found.get("hf_trainer/protaxY__MAI_Moscow_3D_segmentation/checkpoint-500").problems())
                .anyMatch(p -> p.contains("no model weights"));
    }

    @Test
    void corpusRecognitionRateIsReported() {
        long hit = EXPECTED.keySet().stream().filter(found::containsKey).count();
        System.out.printf("corpus recognition: %d of %d expected checkpoints (%.1f %%), %d found in all%n", hit, EXPECTED.size(),
                100.0 * hit / EXPECTED.size(), found.size());
        assertThat(hit).isEqualTo(EXPECTED.size());
    }

    private static void check(List<String> out, String path, String field, Object expected, Object actual) {
        if (expected == null ? actual != null : !expected.equals(actual)) {
            out.add(path + ": " + field + " expected " + expected + " got " + actual);
        }
    }
}
