package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.testing.TinyCheckpoints;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: {@code inspect} and {@code scan} recognise a path one way (Lightning's {@code val/loss}
 * sub-directory, a byte-identical {@code last.ckpt}), and an alias reports what its target knows.
 */
class InspectAgreesWithScanTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FIELDS = List.of("root", "run", "name", "path", "framework", "kind", "state",
            "epoch", "step", "metrics", "bytes", "resumable", "alias_of", "pinned", "problems");

    @TempDir
    Path tmp;
    @TempDir
    Path work;
    Path root;
    Path config;
    Path exp;

    @BeforeEach
    void tree() throws IOException {
        root = tmp.toRealPath();
        config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n");
        exp = root.resolve("exp");
        // Lightning's monitor "val/loss" makes a sub-directory "epoch=0-step=100-val/".
        TinyCheckpoints.torchZip(exp.resolve("epoch=0-step=100-val/loss=0.88.ckpt"), 0, 100L, true);
        Path second = TinyCheckpoints.torchZip(exp.resolve("epoch=1-step=200-val/loss=0.70.ckpt"), 1, 200L, true);
        TinyCheckpoints.old(Files.copy(second, exp.resolve("last.ckpt")));
        // A symbolic last.ckpt, and DeepSpeed's `latest` tag naming a directory checkpoint.
        Path sym = root.resolve("sym");
        TinyCheckpoints.torchZip(sym.resolve("epoch=3-step=400.ckpt"), 3, 400L, true);
        Files.createSymbolicLink(sym.resolve("last.ckpt"), Path.of("epoch=3-step=400.ckpt"));
        Path ds = root.resolve("ds");
        TinyCheckpoints.huggingFace(ds.resolve("checkpoint-300"), 300);
        TreeBuilder.touch(Files.writeString(ds.resolve("latest"), "checkpoint-300"), TinyCheckpoints.LONG_AGO);
    }

    private CliRun cli(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = args[0];
        all[1] = "--config";
        all[2] = config.toString();
        System.arraycopy(args, 1, all, 3, args.length - 1);
        return CliRun.of(all);
    }

    private Map<String, JsonNode> byPath(CliRun r) throws IOException {
        assertThat(r.code()).as(r.toString()).isZero();
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode c : JSON.readTree(r.out()).get("checkpoints")) {
            out.put(c.get("path").asText(), c);
        }
        return out;
    }

    @Test
    void issue14InspectOfEachPathEqualsTheScanEntry() throws IOException {
        Map<String, JsonNode> scanned = byPath(cli("scan", "--json"));
        assertThat(scanned).hasSize(7);
        for (Map.Entry<String, JsonNode> e : scanned.entrySet()) {
            CliRun inspect = cli("inspect", e.getKey(), "--json");
            assertThat(inspect.code()).as(inspect.toString()).isZero();
            JsonNode one = JSON.readTree(inspect.out());
            for (String f : FIELDS) {
                assertThat(one.get(f)).as(f + " of " + e.getKey()).isEqualTo(e.getValue().get(f));
            }
        }
        JsonNode split = scanned.get(exp.resolve("epoch=0-step=100-val/loss=0.88.ckpt").toString());
        assertThat(split.get("run").asText()).isEqualTo("exp");
        assertThat(split.get("name").asText()).isEqualTo("epoch=0-step=100-val/loss=0.88.ckpt");
        assertThat(split.get("metrics").get("val/loss").asDouble()).isEqualTo(0.88);
        assertThat(scanned.get(exp.resolve("last.ckpt").toString()).get("alias_of").asText())
                .isEqualTo(exp.resolve("epoch=1-step=200-val/loss=0.70.ckpt").toString());
    }

    @Test
    void issue14InspectWithoutAnEarlierScanAgreesToo() throws IOException {
        JsonNode split = JSON.readTree(cli("inspect", exp.resolve("epoch=0-step=100-val/loss=0.88.ckpt").toString(), "--json").out());
        assertThat(split.get("run").asText()).isEqualTo("exp");
        assertThat(split.get("name").asText()).isEqualTo("epoch=0-step=100-val/loss=0.88.ckpt");
        JsonNode last = JSON.readTree(cli("inspect", exp.resolve("last.ckpt").toString(), "--json").out());
        assertThat(last.get("alias_of").asText()).isEqualTo(exp.resolve("epoch=1-step=200-val/loss=0.70.ckpt").toString());
    }

    @Test
    void issue14AliasesReportTheirTargetsEpochStepMetricsAndResumability() throws IOException {
        cli("scan");
        for (CliRun r : List.of(cli("scan", "--json"), cli("ls", "--json"))) {
            Map<String, JsonNode> m = byPath(r);
            JsonNode symLast = m.get(root.resolve("sym/last.ckpt").toString());
            assertThat(symLast.get("alias_of").asText()).isEqualTo(root.resolve("sym/epoch=3-step=400.ckpt").toString());
            assertThat(symLast.get("epoch").asInt()).isEqualTo(3);
            assertThat(symLast.get("step").asLong()).isEqualTo(400L);
            assertThat(symLast.get("resumable").asBoolean()).isTrue();
            JsonNode latest = m.get(root.resolve("ds/latest").toString());
            assertThat(latest.get("alias_of").asText()).isEqualTo(root.resolve("ds/checkpoint-300").toString());
            assertThat(latest.get("step").asLong()).isEqualTo(300L);
            assertThat(latest.get("metrics").get("eval_loss").asDouble()).isEqualTo(0.5);
            JsonNode copy = m.get(exp.resolve("last.ckpt").toString());
            assertThat(copy.get("metrics").get("val/loss").asDouble()).isEqualTo(0.70);
        }
        JsonNode inspected = JSON.readTree(cli("inspect", root.resolve("sym/last.ckpt").toString(), "--json").out());
        assertThat(inspected.get("step").asLong()).isEqualTo(400L);
        assertThat(inspected.get("resumable").asBoolean()).isTrue();
    }
}
