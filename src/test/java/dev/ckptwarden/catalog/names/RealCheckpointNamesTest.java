package dev.ckptwarden.catalog.names;

import dev.ckptwarden.catalog.ParsedName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.ckptwarden.catalog.names.NameParserTest.p;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** Names found in real repositories (corpus filenames.txt), read in place. */
class RealCheckpointNamesTest {

    private static final Path CORPUS = Path.of(System.getProperty("ckptwarden.corpus", "../shared/corpus"));
    private static final Path FILENAMES = CORPUS.resolve("filenames.txt");

    /** Oracle: "=" then a number as Python prints it, ending the field. Written apart from the parser on purpose. */
    private static final Pattern ORACLE_FIELD = Pattern.compile(
            "([A-Za-z0-9_./]*[A-Za-z][A-Za-z0-9_./]*)=(-?(?:nan|inf|\\d+(?:\\.\\d+)?(?:e[-+]\\d+)?))(?=$|[-_/])");
    private static final Pattern ORACLE_EXTENSION = Pattern.compile(
            "(\\.(ckpt|pt|pth|bin|safetensors|h5|hdf5|keras|nemo|tar|zip|distcp|index|consolidated|data-\\d+-of-\\d+))+$");

    private static List<String> realNames() throws IOException {
        assumeTrue(Files.isDirectory(CORPUS), "corpus absent at " + CORPUS + ": skipping");
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(FILENAMES, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                names.add(line.substring(0, line.indexOf('\t')));
            }
        }
        return names;
    }

    @Test
    void everyRealNameParsesWithoutGarbage() throws IOException {
        List<String> names = realNames();
        assertThat(names).hasSizeGreaterThanOrEqualTo(200);
        NameParser parser = NameParser.standard();
        List<String> failures = new ArrayList<>();
        int withFields = 0;
        for (String name : names) {
            ParsedName parsed = parser.parse(name);
            assertThat(parsed).as(name).isNotNull();
            List<String> problems = oracleProblems(name, parsed);
            if (!problems.isEmpty()) {
                failures.add(name + ": " + problems);
            }
            if (!parsed.isEmpty()) {
                withFields++;
            }
        }
        assertThat(failures).isEmpty();
        // Guards the oracle against a parser that returns EMPTY for everything.
        assertThat(withFields).isGreaterThan(120);
    }

    /** What an independent reading of {@code name} disagrees with in {@code parsed}. */
    private static List<String> oracleProblems(String name, ParsedName parsed) {
        List<String> problems = new ArrayList<>();
        String stem = ORACLE_EXTENSION.matcher(name).replaceFirst("");
        Matcher f = ORACLE_FIELD.matcher(stem);
        int fields = 0;
        while (f.find()) {
            fields++;
            String before = f.group(1).toLowerCase(Locale.ROOT);
            String text = f.group(2);
            double value = Double.parseDouble(text.replace("nan", "NaN").replace("inf", "Infinity"));
            boolean counter = before.matches("(.*[^a-z])?(epoch|step)") && text.matches("\\d+");
            boolean found = counter
                    ? (before.endsWith("epoch") ? parsed.epoch() != null && parsed.epoch() == value
                                                : parsed.step() != null && parsed.step() == value)
                    : parsed.metrics().entrySet().stream().anyMatch(e ->
                            before.endsWith(e.getKey().toLowerCase(Locale.ROOT)) && Double.compare(e.getValue(), value) == 0);
            if (!found) {
                problems.add("field " + f.group() + " not in result " + parsed);
            }
        }
        if (fields == 0 && !parsed.metrics().isEmpty()) {
            problems.add("metrics from a name without key=value fields: " + parsed.metrics());
        }
        for (Map.Entry<String, Double> m : parsed.metrics().entrySet()) {
            if (!name.contains(m.getKey() + "=")) {
                problems.add("metric " + m.getKey() + " is not written as a field");
            }
        }
        if (parsed.epoch() != null && !hasDigitRun(name, parsed.epoch())) {
            problems.add("epoch " + parsed.epoch() + " is not a number in the name");
        }
        if (parsed.step() != null && !hasDigitRun(name, parsed.step())) {
            problems.add("step " + parsed.step() + " is not a number in the name");
        }
        if (parsed.version() != null && !stem.matches(".*[-_]v" + parsed.version())) {
            problems.add("version " + parsed.version() + " is not a -vN suffix");
        }
        if (parsed.last() != name.toLowerCase(Locale.ROOT).matches("(last([^a-z].*)?|.*[-_]last)(\\..*)?")) {
            problems.add("last=" + parsed.last());
        }
        return problems;
    }

    private static boolean hasDigitRun(String name, long value) {
        Matcher digits = Pattern.compile("\\d+").matcher(name);
        while (digits.find()) {
            String run = digits.group().replaceFirst("^0+(?=.)", "");
            if (run.length() <= 18 && Long.parseLong(run) == value) {
                return true;
            }
        }
        return false;
    }

    /** Expected fields of real names, written by hand; each must occur in filenames.txt. */
    static Stream<Arguments> realNamesWithExpectedFields() {
        return Stream.of(
                arguments("epoch=0-v0.ckpt", p(0, null, 0, false)),
                arguments("epoch=30.ckpt", p(30, null, null, false)),
                arguments("last_bs8.ckpt", p(null, null, null, true)),
                arguments("epoch_000-v1.ckpt", p(0, null, 1, false)),
                arguments("epoch_029-v8.ckpt", p(29, null, 8, false)),
                arguments("last-v39.ckpt", p(null, null, 39, true)),
                arguments("epoch=27-step=2744.ckpt", p(27, 2744L, null, false)),
                arguments("best_model-v12.ckpt", p(null, null, 12, false)),
                arguments("deeponet-epoch=96-val_loss=2.03e-02.ckpt", p(96, null, null, false, "val_loss", 0.0203)),
                arguments("deeponet-epoch=982-val_loss=5.25e-05.ckpt", p(982, null, null, false, "val_loss", 5.25e-05)),
                arguments("DeepONet-Burgers-epoch=2968-val_loss=0.00.ckpt", p(2968, null, null, false, "val_loss", 0.0)),
                arguments("DPC_n2v2-v2.ckpt", p(null, null, 2, false)),
                arguments("best-epoch=epoch=23-auroc=val_auroc=0.9997.ckpt", p(23, null, null, false, "val_auroc", 0.9997)),
                arguments("00-nan.ckpt", ParsedName.EMPTY),
                arguments("70-978592.125.ckpt", ParsedName.EMPTY),
                arguments("model_epoch00_valloss1_111.ckpt", p(0, null, null, false)),
                arguments("lstm-epoch=07-train_loss=0.7051.ckpt", p(7, null, null, false, "train_loss", 0.7051)),
                arguments("LSTM-20250610_231920-bs64-ep1-pat10-114.17937219730942-traindur7-testdur7-hidden_size64epoch=00"
                        + "-val_loss=1.37.ckpt", p(0, null, null, false, "val_loss", 1.37)),
                arguments("best-model-epoch=03-val_loss=0.18-pos_weight=0.00.ckpt",
                        p(3, null, null, false, "val_loss", 0.18, "pos_weight", 0.0)),
                arguments("epoch=00-metric=0.000.ckpt", p(0, null, null, false, "metric", 0.0)),
                arguments("weights-improvement-01-0.69.hdf5", ParsedName.EMPTY),
                arguments("training-3200.index", p(null, 3200L, null, false)),
                arguments("2layers_testtest-0.index", p(null, 0L, null, false)),
                arguments("ckpt.data-00001-of-00002", ParsedName.EMPTY),
                arguments("epoch=2_v8.ckpt", p(2, null, 8, false)),
                arguments("JasperEncoder-STEP-243800.pt", p(null, 243800L, null, false)),
                arguments("ep1.pt", p(1, null, null, false)),
                arguments("global_step100", p(null, 100L, null, false)),
                arguments("bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt", ParsedName.EMPTY),
                arguments("model-00020-of-00020.safetensors", ParsedName.EMPTY),
                arguments("checkpoint-98000", p(null, 98000L, null, false)),
                arguments("checkpoint-125.zip", p(null, 125L, null, false)),
                arguments("checkpoint_360000", p(null, 360000L, null, false)),
                arguments("checkpoint_003400", p(null, 3400L, null, false)),
                arguments("my_checkpoint_step_100", p(null, 100L, null, false)),
                arguments("sample-mnist-epoch02-val_loss0.32.ckpt", p(2, null, null, false)),
                arguments("checkpoint_epoch=01-acc=01.ckpt", p(1, null, null, false, "acc", 1)),
                arguments("epoch=0-step=3.ckpt.consolidated", p(0, 3L, null, false)),
                arguments("loss=0.03000.ckpt", p(null, null, null, false, "loss", 0.03)),
                arguments("last2245.ckpt", p(null, null, null, true)),
                arguments("a=1_b=1.c.d.e-last.ckpt", p(null, null, null, true, "a", 1)),
                arguments("megatron_gpt--step=1400-validation_loss=6.32-consumed_samples=55920.0-last.ckpt",
                        p(null, 1400L, null, true, "validation_loss", 6.32, "consumed_samples", 55920.0)),
                arguments("megatron_gpt_prompt_tune--val_loss=3.401-step=500.ckpt", p(null, 500L, null, false, "val_loss", 3.401)),
                arguments("model_name=0--val_loss=0.00-step=9-consumed_samples=5120.0-last.ckpt",
                        p(null, 9L, null, true, "model_name", 0, "val_loss", 0.0, "consumed_samples", 5120.0)),
                arguments("mp_autoresume---val_loss=0.35-epoch=0.ckpt", p(0, null, null, false, "val_loss", 0.35)),
                arguments("default--reduced_train_loss=0.0112-epoch=2-step=3", p(2, 3L, null, false, "reduced_train_loss", 0.0112)),
                arguments("step=12-epoch=1-last.ckpt", p(1, 12L, null, true)),
                arguments("BERT-STEP-2285714.pt", p(null, 2285714L, null, false)),
                arguments("mymodel2--last.ckpt", p(null, null, null, true)),
                arguments("iter_0080000", p(null, 80000L, null, false)),
                arguments("ep2-ba4-rank0.pt", p(2, 4L, null, false)),
                arguments("ep0-ba0-rank0.pt", p(0, 0L, null, false)),
                arguments("trained_ckpt_gpu_ep2.pt", p(2, null, null, false)),
                arguments("step-99", p(null, 99L, null, false)),
                arguments("step_000000000000_exit", p(null, 0L, null, false)),
                arguments("global_step60001", p(null, 60001L, null, false)),
                arguments("epoch=2-step=99283.ckpt", p(2, 99283L, null, false)),
                arguments("last_checkpoint-v1.ckpt", p(null, null, 1, true)),
                arguments("composer-hf-checkpoint-2.pt", ParsedName.EMPTY),
                arguments("training_state_checkpoint_162.tar", ParsedName.EMPTY),
                arguments("hpc_ckpt_33.ckpt", ParsedName.EMPTY),
                arguments("model-5x9fjp84:v0", ParsedName.EMPTY),
                arguments("mobilestylegan_ffhq_v2.ckpt", ParsedName.EMPTY),
                arguments("version_35", ParsedName.EMPTY),
                arguments("2022-03-09T14-16-11.987733", ParsedName.EMPTY),
                arguments("<_io.BufferedRandom name=105>", ParsedName.EMPTY),
                arguments("ESMnrgFullMoE_e1_t2-esm2_t33_650M_UR50D", ParsedName.EMPTY));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("realNamesWithExpectedFields")
    void realNameGivesExpectedFields(String name, ParsedName expected) {
        assertThat(NameParser.standard().parse(name)).isEqualTo(expected);
    }

    @Test
    void expectedNamesAreRealNames() throws IOException {
        List<String> real = realNames();
        List<String> expectedNames = realNamesWithExpectedFields().map(a -> (String) a.get()[0]).toList();
        assertThat(expectedNames).hasSizeGreaterThanOrEqualTo(40);
        assertThat(real).containsAll(expectedNames);
    }
}
