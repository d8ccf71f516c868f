package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A file name may hold a newline or an ESC: human output never passes them to the terminal raw (a
 * newline would forge a table row, ESC[31m would recolour it), it shows them escaped; {@code --json}
 * carries the names exactly. Real files with such names, through the real commands.
 */
class ControlCharactersInNamesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RUN = "exp\u001b[31mred";
    private static final String NAME = "epoch=1-step=100\nforged row.ckpt";

    @TempDir
    Path root;
    @TempDir
    Path work;
    Path config;
    Path checkpoint;

    @BeforeEach
    void aCheckpointWithANewlineInARunWithAnEscape() throws IOException {
        config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n    retention:\n      keep_last: 1\n    action: report\n");
        checkpoint = TinyCheckpoints.torchZip(Files.createDirectories(root.resolve(RUN)).resolve(NAME), 1, 100L, true);
    }

    private CliRun cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add(1, "--config");
        all.add(2, config.toString());
        return CliRun.of(all.toArray(String[]::new));
    }

    private static void noRawControlCharacters(String what, String text) {
        assertThat(text).as(what + ":\n" + text).doesNotContain("\u001b")
                .doesNotContain("\nforged row");
    }

    @Test
    void tablesShowNewlineAndEscapeEscaped() {
        for (String[] cmd : List.of(new String[]{"scan"}, new String[]{"ls"}, new String[]{"plan"},
                new String[]{"inspect", checkpoint.toString()})) {
            CliRun r = cli(cmd);
            assertThat(r.code()).as(r.toString()).isZero();
            noRawControlCharacters(cmd[0], r.out());
            noRawControlCharacters(cmd[0] + " stderr", r.err());
            assertThat(r.out()).as(cmd[0]).contains("epoch=1-step=100\\nforged row.ckpt");
        }
        assertThat(cli("ls").out()).contains("exp\\x1b[31mred");
    }

    @Test
    void resolveAndPinPrintTheEscapedPathAndJsonCarriesItExactly() throws IOException {
        assertThat(cli("scan").code()).isZero();

        CliRun plain = cli("resolve", "--run", RUN, "latest");
        assertThat(plain.code()).as(plain.toString()).isZero();
        noRawControlCharacters("resolve", plain.out());
        assertThat(plain.out()).isEqualTo(root + "/exp\\x1b[31mred/epoch=1-step=100\\nforged row.ckpt\n");

        CliRun json = cli("resolve", "--run", RUN, "latest", "--json");
        assertThat(JSON.readTree(json.out()).get("path").asText()).isEqualTo(checkpoint.toString());
        JsonNode ls = JSON.readTree(cli("ls", "--json").out()).get("checkpoints").get(0);
        assertThat(ls.get("name").asText()).isEqualTo(NAME);
        assertThat(ls.get("run").asText()).isEqualTo(RUN);

        CliRun pin = cli("pin", checkpoint.toString());
        assertThat(pin.code()).as(pin.toString()).isZero();
        noRawControlCharacters("pin", pin.out());
    }

    @Test
    void inspectOfANonCheckpointEscapesItsPath() throws IOException {
        Path notOne = Files.writeString(root.resolve(RUN).resolve("notes\u001b]0;pwned\u0007.ckpt"), "hello");
        CliRun r = cli("inspect", notOne.toString());
        assertThat(r.code()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
        noRawControlCharacters("inspect", r.out());
        assertThat(r.out()).doesNotContain("\u0007").contains("notes\\x1b]0;pwned\\x07.ckpt");
    }
}
