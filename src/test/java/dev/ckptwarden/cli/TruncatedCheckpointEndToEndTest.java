package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.testing.Corpus;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real Lightning checkpoint from the corpus cut at five points — 0 bytes, inside the first zip
 * header, mid-data, just before the central directory, the last byte — beside an intact older save:
 * after {@code scan} the cut one is corrupt with a problem, never complete, and {@code resolve} never
 * returns it (latest falls back to the intact one; selecting it by step or epoch finds nothing).
 */
class TruncatedCheckpointEndToEndTest {
    private static final String INTACT = "lightning/ko120__DM-Benchmark/checkpoints/epoch_019.ckpt";
    private static final String CUT_FROM = "lightning/Elendil-Q__aegnn/last.ckpt";
    private static final int END_RECORD = 0x06054b50;

    /** Where the newer save is cut, as a function of the intact file. */
    enum Cut {
        EMPTY, INSIDE_HEADER, MID_DATA, BEFORE_CENTRAL_DIRECTORY, LAST_BYTE;

        int length(byte[] whole) {
            return switch (this) {
                case EMPTY -> 0;
                case INSIDE_HEADER -> 20; // a zip local file header is 30 bytes plus the entry name
                case MID_DATA -> whole.length / 2;
                case BEFORE_CENTRAL_DIRECTORY -> centralDirectoryOffset(whole);
                case LAST_BYTE -> whole.length - 1;
            };
        }
    }

    @TempDir
    Path root;
    @TempDir
    Path work;

    private final ObjectMapper json = new ObjectMapper();

    @ParameterizedTest
    @EnumSource(Cut.class)
    void truncatedSaveIsCorruptAndNeverResolved(Cut cut) throws IOException {
        Path run = Files.createDirectories(root.resolve("run"));
        Path older = run.resolve("epoch=1-step=100.ckpt");
        Files.write(older, Files.readAllBytes(Corpus.file(INTACT)));
        TinyCheckpoints.old(older);
        byte[] whole = Files.readAllBytes(Corpus.file(CUT_FROM));
        int length = cut.length(whole);
        assertThat(length).isBetween(0, whole.length - 1);
        Path newer = run.resolve("epoch=2-step=200.ckpt");
        Files.write(newer, Arrays.copyOf(whole, length));
        Files.setLastModifiedTime(newer, FileTime.from(TinyCheckpoints.LONG_AGO.plusSeconds(3600)));
        Path config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\nroots:\n  - name: r\n    path: " + root + "\n");

        CliRun scan = CliRun.of("scan", "--json", "--config", config.toString());

        assertThat(scan.code()).as(scan.toString()).isZero();
        JsonNode cut0 = null;
        JsonNode intact = null;
        for (JsonNode c : json.readTree(scan.out()).get("checkpoints")) {
            if (c.get("path").asText().equals(newer.toString())) {
                cut0 = c;
            } else if (c.get("path").asText().equals(older.toString())) {
                intact = c;
            }
        }
        assertThat(intact).as(scan.out()).isNotNull();
        assertThat(intact.get("state").asText()).isEqualTo("complete");
        assertThat(cut0).as(cut + " cut at " + length + " bytes: " + scan.out()).isNotNull();
        assertThat(cut0.get("state").asText()).as(cut + " at " + length + ": " + cut0).isEqualTo("corrupt");
        assertThat(cut0.get("problems")).as(cut.name()).isNotEmpty();
        assertThat(cut0.get("bytes").asLong()).isEqualTo(length);

        CliRun latest = CliRun.of("resolve", "--run", "run", "latest", "--config", config.toString());
        assertThat(latest.code()).as(latest.toString()).isZero();
        assertThat(latest.out()).isEqualTo(older + "\n");
        for (String selector : new String[]{"step:200", "epoch:2"}) {
            CliRun r = CliRun.of("resolve", "--run", "run", selector, "--config", config.toString());
            assertThat(r.code()).as(selector + ": " + r).isEqualTo(1);
            assertThat(r.out()).isEmpty();
        }
        CliRun resumable = CliRun.of("resolve", "--run", "run", "latest", "--resumable", "--config", config.toString());
        assertThat(resumable.out()).isEqualTo(older + "\n");
    }

    @Test
    void theCutPointsAreWhereTheyClaimToBe() throws IOException {
        byte[] whole = Files.readAllBytes(Corpus.file(CUT_FROM));
        int cd = centralDirectoryOffset(whole);
        // The central directory starts with its own signature; before it lies entry data, not a header.
        assertThat(ByteBuffer.wrap(whole, cd, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(0x02014b50);
        assertThat(Cut.MID_DATA.length(whole)).isLessThan(cd);
        assertThat(Cut.INSIDE_HEADER.length(whole)).isLessThan(30);
        assertThat(ByteBuffer.wrap(whole, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(0x04034b50);
    }

    /** The central directory's offset, from the end-of-central-directory record (searched back over any comment). */
    static int centralDirectoryOffset(byte[] zip) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
            if (b.getInt(at) == END_RECORD) {
                long offset = b.getInt(at + 16) & 0xffffffffL;
                if (offset == 0xffffffffL) {
                    throw new IllegalStateException("zip64 archive: read the zip64 end record instead");
                }
                return (int) offset;
            }
        }
        throw new IllegalStateException("no end-of-central-directory record");
    }
}
