package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.testing.Corpus;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command line as scripts use it (SPEC "Command line" and "Machine output"): exit codes 0/1/2/3,
 * the CKPT fields of {@code --json} with their JSON types, {@code resolve}'s bare path, selectors and
 * {@code --resumable}, history in {@code ls --all}, the registry.json export and check-config's
 * complete error list. Each test runs {@link Main#execute} in-process on a temporary root.
 */
class CliContractTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Every CKPT field of the contract and the JSON node types it may take. */
    private static final Map<String, Set<String>> CKPT = new LinkedHashMap<>();

    static {
        for (String f : List.of("root", "run", "name", "path", "framework", "kind", "state")) {
            CKPT.put(f, Set.of("STRING"));
        }
        CKPT.put("epoch", Set.of("NUMBER", "NULL"));
        CKPT.put("step", Set.of("NUMBER", "NULL"));
        CKPT.put("metrics", Set.of("OBJECT"));
        CKPT.put("bytes", Set.of("NUMBER"));
        CKPT.put("resumable", Set.of("BOOLEAN", "NULL"));
        CKPT.put("alias_of", Set.of("STRING", "NULL"));
        CKPT.put("pinned", Set.of("BOOLEAN"));
        CKPT.put("problems", Set.of("ARRAY"));
    }

    @TempDir
    Path root;
    @TempDir
    Path work;
    Path config;
    Path run;

    @BeforeEach
    void writeConfig() throws IOException {
        run = root.resolve("exp1");
        config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n");
    }

    private CliRun cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.isEmpty() && !all.contains("--config") && !all.get(0).startsWith("-")) {
            all.add(1, "--config");
            all.add(2, config.toString());
        }
        return CliRun.of(all.toArray(String[]::new));
    }

    private static JsonNode json(CliRun r) throws IOException {
        return JSON.readTree(r.out());
    }

    private static Map<String, JsonNode> byName(JsonNode doc) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode c : doc.get("checkpoints")) {
            out.put(c.get("name").asText(), c);
        }
        return out;
    }

    /** An older resumable save and a newer weights-only one, the way a Lightning run with save_weights_only flips. */
    private void twoSaves() throws IOException {
        TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200.ckpt"), 2, 200L, false);
        // Without step or epoch in its name it is ordered by modification time: the oldest save here.
        Files.setLastModifiedTime(TinyCheckpoints.safetensors(run.resolve("model.safetensors")),
                FileTime.from(TinyCheckpoints.LONG_AGO.minusSeconds(3600)));
    }

    @Test
    void scanAndLsJsonCarryEveryContractFieldWithItsJsonType() throws IOException {
        twoSaves();
        CliRun scan = cli("scan", "--json");
        assertThat(scan.code()).as(scan.toString()).isZero();
        CliRun ls = cli("ls", "--json");
        assertThat(ls.code()).as(ls.toString()).isZero();

        for (CliRun r : List.of(scan, ls)) {
            JsonNode doc = json(r);
            assertThat(doc.size()).as("one document with one key").isEqualTo(1);
            assertThat(doc.get("checkpoints").isArray()).isTrue();
            assertThat(doc.get("checkpoints")).hasSize(3);
            for (JsonNode c : doc.get("checkpoints")) {
                for (Map.Entry<String, Set<String>> f : CKPT.entrySet()) {
                    assertThat(c.has(f.getKey())).as(f.getKey() + " in " + c).isTrue();
                    assertThat(f.getValue()).as(f.getKey() + " of " + c.get("name")).contains(c.get(f.getKey()).getNodeType().name());
                }
                for (Iterator<JsonNode> it = c.get("problems").elements(); it.hasNext(); ) {
                    assertThat(it.next().isTextual()).isTrue();
                }
            }
            Map<String, JsonNode> cps = byName(doc);
            JsonNode resumable = cps.get("epoch=1-step=100-val_loss=0.25.ckpt");
            assertThat(resumable.get("root").asText()).isEqualTo("main");
            assertThat(resumable.get("run").asText()).isEqualTo("exp1");
            assertThat(resumable.get("path").asText()).isEqualTo(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt").toString());
            assertThat(resumable.get("framework").asText()).isEqualTo("lightning");
            assertThat(resumable.get("kind").asText()).isEqualTo("file");
            assertThat(resumable.get("state").asText()).isEqualTo("complete");
            assertThat(resumable.get("epoch").isIntegralNumber()).isTrue();
            assertThat(resumable.get("epoch").asInt()).isEqualTo(1);
            assertThat(resumable.get("step").asLong()).isEqualTo(100);
            assertThat(resumable.get("metrics").get("val_loss").isNumber()).isTrue();
            assertThat(resumable.get("metrics").get("val_loss").asDouble()).isEqualTo(0.25);
            assertThat(resumable.get("bytes").asLong()).isEqualTo(Files.size(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt")));
            assertThat(resumable.get("resumable").booleanValue()).isTrue();
            assertThat(resumable.get("alias_of").isNull()).isTrue();
            assertThat(resumable.get("pinned").booleanValue()).isFalse();
            assertThat(resumable.get("problems")).isEmpty();

            JsonNode weights = cps.get("model.safetensors");
            // Unknown is null, never 0 or a missing key: scripts tell "no epoch" from "epoch 0".
            assertThat(weights.get("epoch").isNull()).isTrue();
            assertThat(weights.get("step").isNull()).isTrue();
            assertThat(weights.get("framework").asText()).isEqualTo("safetensors");
            assertThat(weights.get("resumable").booleanValue()).isFalse();
            assertThat(weights.get("metrics")).isEmpty();
        }
    }

    @Test
    void resolvePrintsOnlyThePathAndANewline() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();

        CliRun r = cli("resolve", "--run", "exp1", "latest");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo(run.resolve("epoch=2-step=200.ckpt") + "\n");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void resolveSelectorsStepColonStepUnderscoreAndEpochColon() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();
        String first = run.resolve("epoch=1-step=100-val_loss=0.25.ckpt") + "\n";

        assertThat(cli("resolve", "--run", "exp1", "step:100").out()).isEqualTo(first);
        assertThat(cli("resolve", "--run", "exp1", "step_100").out()).isEqualTo(first);
        assertThat(cli("resolve", "--run", "exp1", "epoch:1").out()).isEqualTo(first);
        assertThat(cli("resolve", "--run", "exp1", "epoch:2").out()).isEqualTo(run.resolve("epoch=2-step=200.ckpt") + "\n");
        CliRun json = cli("resolve", "--run", "exp1", "step:100", "--json");
        assertThat(json.code()).isZero();
        assertThat(json(json).get("path").asText()).isEqualTo(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt").toString());
    }

    /** The same rule everywhere: `resolve best` judges by the run's effective keep_best, overrides included. */
    @Test
    void resolveBestUsesTheRunsOverrideMetric() throws IOException {
        TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100-val_loss=0.20-acc=0.70.ckpt"), 1, 100L, true);
        TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200-val_loss=0.30-acc=0.90.ckpt"), 2, 200L, true);
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n    retention:\n"
                + "      keep_best: {k: 1, metric: val_loss, mode: min}\n    action: report\n    overrides:\n"
                + "      - match: \"exp*\"\n        retention: {keep_best: {k: 1, metric: acc, mode: max}}\n");
        assertThat(cli("scan").code()).isZero();
        assertThat(cli("resolve", "--run", "exp1", "best").out())
                .isEqualTo(run.resolve("epoch=2-step=200-val_loss=0.30-acc=0.90.ckpt") + "\n");
    }

    @Test
    void resolveResumableSkipsWeightsOnlySaves() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();

        assertThat(cli("resolve", "--run", "exp1", "latest").out()).isEqualTo(run.resolve("epoch=2-step=200.ckpt") + "\n");
        CliRun r = cli("resolve", "--run", "exp1", "latest", "--resumable");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt") + "\n");
        // The weights-only save at step 200 exists, but nothing to resume training from.
        CliRun none = cli("resolve", "--run", "exp1", "step:200", "--resumable");
        assertThat(none.code()).as(none.toString()).isEqualTo(1);
        assertThat(none.out()).isEmpty();
    }

    @Test
    void resolveWithNoMatchExitsOneAndPrintsNothingOnStdout() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();

        CliRun noStep = cli("resolve", "--run", "exp1", "step:999");
        assertThat(noStep.code()).as(noStep.toString()).isEqualTo(1);
        assertThat(noStep.out()).isEmpty();
        assertThat(noStep.err()).contains("step:999");
        CliRun noRun = cli("resolve", "--run", "no-such-run", "latest");
        assertThat(noRun.code()).as(noRun.toString()).isEqualTo(1);
        assertThat(noRun.out()).isEmpty();
    }

    @Test
    void unknownSelectorIsBadUsageWhetherOrNotTheRunHasCheckpoints() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();

        for (String runId : List.of("exp1", "no-such-run")) {
            CliRun r = cli("resolve", "--run", runId, "newest");
            assertThat(r.code()).as(runId + ": " + r).isEqualTo(2);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).contains("unknown selector 'newest'");
        }
    }

    @Test
    void invalidConfigurationExitsTwoNamingFileLineColumnAndKey() throws IOException {
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\nroots:\n  - path: " + root + "\n"
                + "    retention:\n      keep_lst: 3\n");

        CliRun r = cli("ls");

        assertThat(r.code()).as(r.toString()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(config + ":6:7: roots[0].retention.keep_lst: unknown key (did you mean keep_last?)");
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void unknownSubcommandOrOptionIsBadUsage() {
        CliRun sub = CliRun.of("frobnicate");
        assertThat(sub.code()).as(sub.toString()).isEqualTo(2);
        assertThat(sub.err()).contains("frobnicate");
        CliRun opt = cli("ls", "--colour");
        assertThat(opt.code()).as(opt.toString()).isEqualTo(2);
        assertThat(opt.err()).contains("--colour");
        CliRun missing = cli("resolve", "latest");
        assertThat(missing.code()).as(missing.toString()).isEqualTo(2);
    }

    @Test
    void unusableRegistryExitsThreeWithOneLineAndNoStackTrace() throws IOException {
        Path stateFile = Files.writeString(work.resolve("state-is-a-file"), "x");
        Files.writeString(config, "agent:\n  state_dir: " + stateFile + "\nroots:\n  - path: " + root + "\n");

        for (String cmd : List.of("scan", "ls", "export-registry")) {
            CliRun r = cli(cmd);
            assertThat(r.code()).as(cmd + ": " + r).isEqualTo(3);
            assertThat(r.out()).isEmpty();
            assertThat(r.err().lines()).as(cmd + ": " + r).containsExactly(
                    "ckpt-warden: " + stateFile + ": state directory exists but is not a directory");
        }
    }

    @Test
    void scanOfARootThatDoesNotExistExitsThreeAndSaysWhich() throws IOException {
        Path missing = work.resolve("not-there");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\nroots:\n  - name: gone\n    path: "
                + missing + "\n");

        CliRun r = cli("scan", "--json");

        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(json(r).get("checkpoints")).isEmpty();
        assertThat(r.err()).contains("ckpt-warden: gone: " + missing + ": does not exist");
    }

    @Test
    void inspectOfAGitLfsPointerSaysItIsNotACheckpoint() throws IOException {
        Path pointer = Corpus.file("negatives/prescient-design__lobster/last.ckpt");

        CliRun r = cli("inspect", pointer.toString(), "--json");

        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        JsonNode doc = json(r);
        assertThat(doc.properties()).extracting(Map.Entry::getKey).containsExactly("path", "checkpoint", "reason");
        assertThat(doc.get("path").asText()).isEqualTo(pointer.toString());
        assertThat(doc.get("checkpoint").isBoolean()).isTrue();
        assertThat(doc.get("checkpoint").booleanValue()).isFalse();
        assertThat(doc.get("reason").asText()).isEqualTo("Git LFS pointer, content not fetched");
    }

    @Test
    void inspectJsonOfACheckpointIsOneCkpt() throws IOException {
        twoSaves();
        Path ckpt = run.resolve("epoch=1-step=100-val_loss=0.25.ckpt");

        CliRun r = cli("inspect", ckpt.toString(), "--json");

        assertThat(r.code()).as(r.toString()).isZero();
        JsonNode c = json(r);
        for (Map.Entry<String, Set<String>> f : CKPT.entrySet()) {
            assertThat(f.getValue()).as(f.getKey()).contains(c.path(f.getKey()).getNodeType().name());
        }
        assertThat(c.get("root").asText()).isEqualTo("main");
        assertThat(c.get("run").asText()).isEqualTo("exp1");
        assertThat(c.get("state").asText()).isEqualTo("complete");
        assertThat(c.get("resumable").booleanValue()).isTrue();
    }

    @Test
    void lsAllShowsACheckpointDeletedFromDiskAfterTheNextScan() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();
        Path gone = run.resolve("epoch=2-step=200.ckpt");
        Files.delete(gone);
        assertThat(cli("scan").code()).isZero();

        assertThat(byName(json(cli("ls", "--json")))).doesNotContainKey("epoch=2-step=200.ckpt");
        CliRun all = cli("ls", "--all", "--json");
        assertThat(all.code()).isZero();
        JsonNode deleted = byName(json(all)).get("epoch=2-step=200.ckpt");
        assertThat(deleted).as(all.out()).isNotNull();
        assertThat(deleted.get("state").asText()).isEqualTo("deleted");
        assertThat(deleted.get("path").asText()).isEqualTo(gone.toString());
        CliRun table = cli("ls", "--all");
        assertThat(table.out()).contains("epoch=2-step=200.ckpt").contains("deleted").contains("gone from disk");
    }

    @Test
    void exportRegistryWritesTheRegistryJsonFormat() throws IOException {
        twoSaves();
        assertThat(cli("scan").code()).isZero();
        Files.delete(run.resolve("model.safetensors"));
        assertThat(cli("scan").code()).isZero();
        Path out = work.resolve("registry.json");

        CliRun r = cli("export-registry", "--out", out.toString());

        assertThat(r.code()).as(r.toString()).isZero();
        JsonNode doc = JSON.readTree(out.toFile());
        assertThat(doc.properties()).extracting(Map.Entry::getKey).containsExactly("models");
        JsonNode models = doc.get("models");
        assertThat(models.properties()).extracting(Map.Entry::getKey).containsExactly("main");
        JsonNode main = models.get("main");
        assertThat(new TreeSet<>(main.properties().stream().map(Map.Entry::getKey).toList())).containsExactly(
                "exp1/epoch=1-step=100-val_loss=0.25.ckpt", "exp1/epoch=2-step=200.ckpt", "exp1/model.safetensors");
        JsonNode e = main.get("exp1/epoch=1-step=100-val_loss=0.25.ckpt");
        assertThat(e.properties()).extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("path", "added", "step", "epoch", "metrics", "bytes", "state");
        assertThat(e.get("path").asText()).isEqualTo(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt").toString());
        assertThat(e.get("added").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d");
        assertThat(e.get("step").asLong()).isEqualTo(100);
        assertThat(e.get("epoch").asInt()).isEqualTo(1);
        assertThat(e.get("metrics").get("val_loss").asDouble()).isEqualTo(0.25);
        assertThat(e.get("bytes").asLong()).isEqualTo(Files.size(run.resolve("epoch=1-step=100-val_loss=0.25.ckpt")));
        assertThat(e.get("state").asText()).isEqualTo("complete");
        JsonNode st = main.get("exp1/model.safetensors");
        assertThat(st.get("state").asText()).isEqualTo("deleted");
        assertThat(st.get("step").isNull()).isTrue();
        // Same as stdout, byte for byte.
        assertThat(cli("export-registry").out()).isEqualTo(Files.readString(out));
    }

    @Test
    void checkConfigReportsEveryErrorNotJustTheFirst() throws IOException {
        Path bad = work.resolve("bad.yaml");
        Files.writeString(bad, String.join("\n",
                "agent:",
                "  state_dir: " + work.resolve("state"),
                "  settle_time: 10 parsecs",
                "roots:",
                "  - path: " + root,
                "    layout: tensorflowish",
                "    retention:",
                "      keep_lst: 3",
                ""));

        CliRun r = CliRun.of("check-config", bad.toString());

        assertThat(r.code()).as(r.toString()).isEqualTo(2);
        List<String> lines = r.err().lines().toList();
        assertThat(lines).as(r.toString()).hasSize(4);
        assertThat(lines.get(0)).startsWith(bad + ":3:").contains("agent.settle_time: ");
        assertThat(lines.get(1)).startsWith(bad + ":6:").contains("roots[0].layout: ");
        assertThat(lines.get(2)).isEqualTo(bad + ":8:7: roots[0].retention.keep_lst: unknown key (did you mean keep_last?)");
        assertThat(lines.get(3)).isEqualTo(bad + ": 3 error(s)");
    }

    @Test
    void checkConfigOfAValidFileExitsZero() {
        CliRun r = CliRun.of("check-config", config.toString());
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith(config + ": OK");
    }
}
