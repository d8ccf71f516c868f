package dev.ckptwarden.catalog.names;

import dev.ckptwarden.catalog.ParsedName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class NameParserTest {

    private final NameParser parser = NameParser.standard();

    /** Expected fields; metrics given as name, value pairs in name order. */
    static ParsedName p(Integer epoch, Long step, Integer version, boolean last, Object... metrics) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < metrics.length; i += 2) {
            m.put((String) metrics[i], ((Number) metrics[i + 1]).doubleValue());
        }
        return new ParsedName(epoch, step, m, version, last);
    }

    static Stream<Arguments> contractNames() {
        return Stream.of(
                // Lightning
                arguments("epoch=03-step=001500-train.ckpt", p(3, 1500L, null, false)),
                arguments("epoch=3-step=4-v2.ckpt", p(3, 4L, 2, false)),
                arguments("last.ckpt", p(null, null, null, true)),
                arguments("last-v1.ckpt", p(null, null, 1, true)),
                arguments("epoch_05-val_loss=0.123.ckpt", p(5, null, null, false, "val_loss", 0.123)),
                arguments("best_20231231_epoch=02_step=003500_loss=0.1234.ckpt", p(2, 3500L, null, false, "loss", 0.1234)),
                arguments("deeponet-epoch=05-val_loss=2.77e-01.ckpt", p(5, null, null, false, "val_loss", 0.277)),
                arguments("best-epoch=epoch=19-auroc=val_auroc=0.9997.ckpt", p(19, null, null, false, "val_auroc", 0.9997)),
                arguments("epoch_008-v7.ckpt", p(8, null, 7, false)),
                arguments("epoch=0_v2.ckpt", p(0, null, 2, false)),
                arguments("epoch=1_step=2_grank=0.0.ckpt", p(1, 2L, null, false, "grank", 0.0)),
                arguments("foo=1-last.ckpt", p(null, null, null, true, "foo", 1)),
                arguments("epoch=9-last.ckpt", p(9, null, null, true)),
                arguments("epoch=0-step=8-EMA.ckpt", p(0, 8L, null, false)),
                arguments("epoch=1-val/loss=0.12.ckpt", p(1, null, null, false, "val/loss", 0.12)),
                arguments("epoch=4-Val/Accuracy=0.98.ckpt", p(4, null, null, false, "Val/Accuracy", 0.98)),
                arguments("epoch=2-val.loss=0.5.ckpt", p(2, null, null, false, "val.loss", 0.5)),
                arguments("epoch=1-lr=1e-05.ckpt", p(1, null, null, false, "lr", 1e-05)),
                arguments("epoch=1-val_loss=-0.5.ckpt", p(1, null, null, false, "val_loss", -0.5)),
                arguments("epoch=1-val_loss=nan.ckpt", p(1, null, null, false, "val_loss", Double.NaN)),
                arguments("epoch=1-val_loss=inf.ckpt", p(1, null, null, false, "val_loss", Double.POSITIVE_INFINITY)),
                arguments("epoch=1-val_loss=-inf-v3.ckpt", p(1, null, 3, false, "val_loss", Double.NEGATIVE_INFINITY)),
                // Hugging Face, DeepSpeed, Orbax, Megatron, torchtitan
                arguments("checkpoint-1000", p(null, 1000L, null, false)),
                arguments("checkpoint_step_1000.pt", p(null, 1000L, null, false)),
                arguments("checkpoint-125.zip", p(null, 125L, null, false)),
                arguments("global_step1000", p(null, 1000L, null, false)),
                arguments("global_step_3", p(null, 3L, null, false)),
                arguments("step-1000", p(null, 1000L, null, false)),
                arguments("step_00001234", p(null, 1234L, null, false)),
                arguments("step-0-fromhf", p(null, 0L, null, false)),
                arguments("checkpoint_16.orbax-checkpoint-tmp-123214324", p(null, 16L, null, false)),
                arguments("iter_0000010", p(null, 10L, null, false)),
                arguments("0", p(null, 0L, null, false)),
                arguments("1500", p(null, 1500L, null, false)),
                // NeMo
                arguments("megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0.ckpt",
                        p(null, 1000L, null, false, "val_loss", 2.34, "consumed_samples", 64000.0)),
                arguments("megatron_gpt--val_loss=2.34-step=1000-consumed_samples=64000.0-last.ckpt",
                        p(null, 1000L, null, true, "val_loss", 2.34, "consumed_samples", 64000.0)),
                arguments("JasperDecoderForCTC-STEP-243800.pt", p(null, 243800L, null, false)),
                arguments("gpt_pretrain_220m_len_4096_pos_alibi_step_595508_gbs256.nemo", p(null, 595508L, null, false)),
                // Composer
                arguments("ep2-ba300-rank0.pt", p(2, 300L, null, false)),
                arguments("ep1-ba42-rank0.tar", p(1, 42L, null, false)),
                arguments("ep1.pt", p(1, null, null, false)),
                // TensorFlow
                arguments("training-3200.index", p(null, 3200L, null, false)),
                arguments("training-3200.data-00000-of-00001", p(null, 3200L, null, false)),
                arguments("model.ckpt-5000", p(null, 5000L, null, false)),
                arguments("ckpt-7", p(null, 7L, null, false)),
                arguments("cp.ckpt.index", ParsedName.EMPTY));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("contractNames")
    void parsesContractNames(String name, ParsedName expected) {
        assertThat(parser.parse(name)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"00-nan.ckpt", "70-978592.125.ckpt", "best-57-6.75.ckpt", "weights.05-0.12.hdf5",
            "model-00003-of-00003.safetensors", "pytorch_model-00006-of-00006.bin", "offline-id-1234",
            "2022-10-05_16:10:12", "314989448996940787", "hpc_ckpt_33.ckpt", "<_io.BufferedRandom name=105>",
            "mp_rank_00_model_states.pt", "rng_state_7.pth", "model_v2.ckpt", "", "-v1", ".ckpt", "="})
    void bareNumbersAndShardCountersGiveNothing(String name) {
        assertThat(parser.parse(name)).isEqualTo(ParsedName.EMPTY);
    }

    @Test
    void nullGivesEmpty() {
        assertThat(parser.parse(null)).isSameAs(ParsedName.EMPTY);
    }

    @Test
    void metricsKeepNameOrder() {
        ParsedName parsed = parser.parse("zeta=1-alpha=2-mid=3.ckpt");
        assertThat(parsed.metrics().keySet()).containsExactly("zeta", "alpha", "mid");
    }

    @Test
    void conventionsNeverReadInsideKeyValueFields() {
        // "ep3" is part of a metric name here, not a Composer epoch.
        assertThat(parser.parse("x_ep3=0.5.ckpt")).isEqualTo(p(null, null, null, false, "x_ep3", 0.5));
        assertThat(parser.parse("step_loss=0.25-global_step=7.ckpt")).isEqualTo(p(null, 7L, null, false, "step_loss", 0.25));
    }

    @Test
    void keyValueEpochWinsOverHyperparameterLookalikes() {
        // ep20 is the run's max_epochs in this real name; the field epoch=13 is the checkpoint's epoch.
        assertThat(parser.parse("LSTM_REF-20250616_122605-run1bs512-ep20-pat5-171.26905829596413-traindur7-testdur7"
                + "-hidden_size128epoch=13-val_loss=0.05.ckpt").epoch()).isEqualTo(13);
    }

    @Test
    void counterKeyWithFractionalValueIsKeptAsMetric() {
        assertThat(parser.parse("epoch=1.5-step=3.ckpt")).isEqualTo(p(null, 3L, null, false, "epoch", 1.5));
    }

    @Test
    void splitFormAcrossDirectories() {
        assertThat(parser.parse("epoch=1-val/loss=0.12.ckpt")).isEqualTo(p(1, null, null, false, "val/loss", 0.12));
        assertThat(parser.parse("val/loss=0.12-epoch=3-v2.ckpt")).isEqualTo(p(3, null, 2, false, "val/loss", 0.12));
        assertThat(parser.parse("loss=0.1-train/acc=0.5.ckpt"))
                .isEqualTo(p(null, null, null, false, "loss", 0.1, "train/acc", 0.5));
    }

    @Test
    void hugeCountersDoNotOverflow() {
        assertThat(parser.parse("epoch=99999999999-step=2.ckpt"))
                .isEqualTo(p(null, 2L, null, false, "epoch", 99999999999.0));
        assertThat(parser.parse("step=99999999999999999999.ckpt").step()).isNull();
        assertThat(parser.parse("global_step99999999999999999999").step()).isNull();
    }

    @ParameterizedTest
    @MethodSource("stems")
    void stemStripsCheckpointSuffixes(String name, String stem) {
        assertThat(NameParser.stem(name)).isEqualTo(stem);
    }

    static Stream<Arguments> stems() {
        return Stream.of(
                arguments("epoch=3-val_loss=2.77e-01.ckpt", "epoch=3-val_loss=2.77e-01"),
                arguments("cp.ckpt.index", "cp"),
                arguments("bert_model.ckpt.data-00000-of-00001", "bert_model"),
                arguments("ckpt.data-00001-of-00002", "ckpt"),
                arguments("epoch=0-step=3.ckpt.consolidated", "epoch=0-step=3"),
                arguments("checkpoint_16.orbax-checkpoint-tmp-123214324", "checkpoint_16"),
                arguments("model.SAFETENSORS", "model"),
                arguments("x.tar.gz", "x"),
                arguments("__0_0.distcp", "__0_0"),
                arguments("weights.05-0.12.hdf5", "weights.05-0.12"),
                arguments("checkpoint-1000", "checkpoint-1000"),
                arguments("consumed_samples=64000.0", "consumed_samples=64000.0"),
                arguments(".ckpt", ".ckpt"),
                arguments("val/.ckpt", "val/.ckpt"),
                arguments("", ""));
    }

    @Test
    void splitMetricDirectoryRecognised() {
        assertThat(NameParser.isSplitMetricDirectory("epoch=1-val", List.of("loss=0.12.ckpt"))).isTrue();
        assertThat(NameParser.isSplitMetricDirectory("val", List.of("loss=0.12.ckpt", "loss=0.10-v1.ckpt"))).isTrue();
        assertThat(NameParser.isSplitMetricDirectory("epoch=1-step=20-Val", List.of("Accuracy=0.98-v2.ckpt"))).isTrue();
        assertThat(NameParser.isSplitMetricDirectory("loss=0.1-train", List.of("acc=0.5.ckpt"))).isTrue();
    }

    @Test
    void ordinaryDirectoriesAreNotSplitMetricDirectories() {
        // A run directory: Lightning names start with epoch, or there is a last.ckpt beside metric-first names.
        assertThat(NameParser.isSplitMetricDirectory("version_0", List.of("epoch=0-step=50.ckpt"))).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("checkpoints", List.of("val_loss=0.12.ckpt", "last.ckpt"))).isFalse();
        // Directory checkpoints and their contents.
        assertThat(NameParser.isSplitMetricDirectory("global_step100", List.of("loss=1.ckpt"))).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("checkpoint-100", List.of("loss=1.ckpt"))).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("epoch=1-val", List.of("mp_rank_00_model_states.pt"))).isFalse();
        // The head must be a name without a value, and the directory must not look like a file.
        assertThat(NameParser.isSplitMetricDirectory("epoch=1", List.of("loss=0.12.ckpt"))).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("epoch=1-val.ckpt", List.of("loss=0.12.ckpt"))).isFalse();
        // The joined name would be a counter (val/step), not a metric.
        assertThat(NameParser.isSplitMetricDirectory("val", List.of("step=3.ckpt"))).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("val", List.of())).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("", List.of("loss=1.ckpt"))).isFalse();
        assertThat(NameParser.isSplitMetricDirectory("a/val", List.of("loss=1.ckpt"))).isFalse();
    }
}
