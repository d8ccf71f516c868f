package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every real Lightning checkpoint in the corpus probes as an intact torch file whose pickle yields
 * the values of the facts table in the corpus's SOURCES.md (parsed from the table itself).
 */
class LightningCorpusTest {

    /** One row of "Facts extracted from the Lightning checkpoints". */
    record Fact(String path, String format, String version, int epoch, long step, boolean optimizer,
            String monitor, String bestBasename) {
    }

    /** Rows with values; the table's symlink rows are left out (see {@link #tableRows()}). */
    static List<Fact> facts() throws IOException {
        return tableRows().stream().filter(f -> !f.format().startsWith("symlink")).toList();
    }

    static List<Fact> tableRows() throws IOException {
        List<String> lines = Files.readAllLines(Corpus.root().resolve("SOURCES.md"));
        int start = lines.indexOf("## Facts extracted from the Lightning checkpoints (for expected values)");
        assertThat(start).as("facts section in SOURCES.md").isNotNegative();
        List<Fact> facts = new ArrayList<>();
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("## ")) {
                break;
            }
            if (!line.startsWith("| `lightning/")) {
                continue;
            }
            String[] c = line.split("\\|", -1);
            String format = c[2].trim();
            if (format.startsWith("symlink")) {
                facts.add(new Fact(c[1].trim().replace("`", ""), format, null, -1, -1, false, null, null));
                continue;
            }
            facts.add(new Fact(c[1].trim().replace("`", ""), format, c[3].trim(), Integer.parseInt(c[4].trim()),
                    Long.parseLong(c[5].trim()), c[6].trim().equals("yes"), blankOrNone(c[7]), blankOrNone(c[8])));
        }
        return facts;
    }

    private static String blankOrNone(String cell) {
        String v = cell.trim();
        return v.isEmpty() || v.equals("None") ? null : v;
    }

    /** Lightning writes whatever path the run used: POSIX, Windows or gs://. */
    static String basename(String path) {
        if (path == null) {
            return null;
        }
        int cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(cut + 1);
    }

    @TestFactory
    Stream<DynamicTest> everyLightningCheckpointMatchesTheFactsTable() throws IOException {
        List<Fact> facts = facts();
        assertThat(facts).hasSizeGreaterThanOrEqualTo(25);
        return facts.stream().map(f -> DynamicTest.dynamicTest(f.path(), () -> {
            Probe probe = FileProbe.probe(Corpus.root().resolve(f.path()));
            assertThat(probe.type()).isEqualTo(f.format().equals("zip") ? ContentType.TORCH_ZIP : ContentType.TORCH_LEGACY);
            assertThat(probe.problems()).isEmpty();
            assertThat(probe.notACheckpoint()).isFalse();
            TorchMetadata t = probe.torch();
            assertThat(t).isNotNull();
            assertThat(t.lightningVersion()).isEqualTo(f.version());
            assertThat(t.epoch()).isEqualTo(f.epoch());
            assertThat(t.globalStep()).isEqualTo(f.step());
            assertThat(t.hasOptimizerState()).isEqualTo(f.optimizer());
            assertThat(t.monitor()).isEqualTo(f.monitor());
            assertThat(basename(t.bestModelPath())).isEqualTo(f.bestBasename());
            assertThat(t.topLevelKeys()).contains("epoch", "global_step", "state_dict", "optimizer_states");
            if (f.format().equals("zip")) {
                assertThat(t.entryNames()).anyMatch(n -> n.endsWith("/data.pkl"));
            } else {
                assertThat(t.entryNames()).isEmpty();
            }
        }));
    }

    @Test
    void theFactsTableCoversEveryCkptFileInTheCorpus() throws IOException {
        Path lightning = Corpus.root().resolve("lightning");
        Set<String> onDisk;
        try (Stream<Path> s = Files.walk(lightning)) {
            onDisk = s.filter(p -> p.toString().endsWith(".ckpt"))
                    .map(p -> Corpus.root().relativize(p).toString())
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        Set<String> inTable = tableRows().stream().map(Fact::path).collect(Collectors.toCollection(TreeSet::new));
        assertThat(inTable).isEqualTo(onDisk);
    }

    /**
     * Git stores a symlink as a blob holding its target; checked out without symlink support it is a
     * small text file named like a checkpoint. It must not pass for one.
     */
    @Test
    void symlinkCheckedOutAsTextIsNotACheckpoint() throws IOException {
        for (Fact row : tableRows()) {
            Path p = Corpus.root().resolve(row.path());
            if (!row.format().startsWith("symlink") || Files.isSymbolicLink(p)) {
                continue;
            }
            Probe probe = FileProbe.probe(p);
            assertThat(probe.type()).as(row.path()).isEqualTo(ContentType.TEXT);
            assertThat(probe.notACheckpoint()).isTrue();
            assertThat(probe.notACheckpointReason()).isEqualTo("text file, not a checkpoint");
        }
    }

    @Test
    void lightningZeroEightKeepsTheBestPathInFlatKeys() throws IOException {
        TorchMetadata t = FileProbe.probe(Corpus.file("lightning/Plozel__MAFAT-Radar_Challenge/last.ckpt")).torch();
        assertThat(t.topLevelKeys()).contains("checkpoint_callback_best_model_path").doesNotContain("callbacks");
        assertThat(t.bestModelPath())
                .isEqualTo("/home/yonattan/projects/MAFAT-Radar_Challenge/lightning_logs/version_1/checkpoints/epoch=1.ckpt");
    }

}
