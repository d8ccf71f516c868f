package dev.ckptwarden.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class TableTest {

    private static String printed(Table t) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, false, StandardCharsets.UTF_8);
        t.print(out);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void columnsArePaddedToTheWidestCellAndLinesCarryNoTrailingSpaces() {
        Table t = new Table("NAME", "STEP", "NOTE").row("epoch=1.ckpt", 1500, null).row("é", null, "");

        assertThat(printed(t)).isEqualTo(String.join(System.lineSeparator(),
                "NAME          STEP  NOTE",
                "epoch=1.ckpt  1500  -",
                "é             -",
                ""));
    }

    @Test
    void aTableLargerThanOneWriteBlockIsPrintedWhole() {
        Table t = new Table("N", "PATH");
        for (int i = 0; i < 5000; i++) {
            t.row(i, "/data/run-" + i + "/checkpoint-" + i);
        }

        String[] lines = printed(t).split(System.lineSeparator());

        assertThat(lines).hasSize(5001);
        assertThat(lines[0]).isEqualTo("N     PATH");
        assertThat(lines[4000]).isEqualTo("3999  /data/run-3999/checkpoint-3999");
        assertThat(lines[5000]).isEqualTo("4999  /data/run-4999/checkpoint-4999");
    }

    @Test
    void controlCharactersInCellsAreEscapedSoARowStaysOneLine() {
        Table t = new Table("NAME", "STEP").row("a\nb\u001b[31m\t\u007f\u009b\u2028.ckpt", 1);

        assertThat(printed(t)).isEqualTo(String.join(System.lineSeparator(),
                "NAME" + " ".repeat(31) + "STEP",
                "a\\nb\\x1b[31m\\t\\x7f\\x9b\\u2028.ckpt  1",
                ""));
    }
}
