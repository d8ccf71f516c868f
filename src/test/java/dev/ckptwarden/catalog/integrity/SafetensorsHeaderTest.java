package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Header checks beyond length: what the safetensors library itself would refuse. */
class SafetensorsHeaderTest {

    @TempDir
    Path tmp;

    /** Writes 8-byte length + header + {@code dataBytes} zero bytes. */
    static Path write(Path file, String header, long dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + (int) dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.write(file, b.array());
        return file;
    }

    private SafetensorsHeader read(String header, long dataBytes) throws IOException {
        return SafetensorsHeader.read(write(tmp.resolve("t.safetensors"), header, dataBytes));
    }

    @Test
    void exactLengthIsIntact() throws IOException {
        SafetensorsHeader h = read("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]}}", 32);
        assertThat(h.problems()).isEmpty();
        assertThat(h.tensors().get("a").shape()).containsExactly(2L, 3L);
        assertThat(h.dataLength()).isEqualTo(32);
    }

    @Test
    void bytesAfterTheDescribedDataAreAProblem() throws IOException {
        assertThat(read("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 10).problems())
                .containsExactly("safetensors file has 6 bytes after the data its header describes");
    }

    @Test
    void spanThatDisagreesWithDtypeAndShapeIsAProblem() throws IOException {
        assertThat(read("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8).problems())
                .containsExactly("safetensors tensor 'a' spans 8 bytes but dtype F32 and shape [3] need 12");
    }

    @Test
    void gapsBetweenTensorsAreAProblem() throws IOException {
        assertThat(read("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}", 12).problems())
                .containsExactly("safetensors tensor 'b' starts at data offset 8 where 4 was expected (gap or overlap)");
    }

    @Test
    void headerThatIsNotJsonIsAProblem() throws IOException {
        assertThat(read("{\"a\": [1,", 0).problems()).singleElement().asString()
                .startsWith("safetensors header is not valid JSON: ");
    }

    /**
     * Found by SafetensorsHeaderFuzzTest: a header starting with NUL bytes made the JSON parser guess UTF-32 and
     * throw an I/O error, so a corrupt file looked unreadable instead of corrupt.
     */
    @Test
    void headerStartingWithNulBytesIsAProblemNotAnIoError() throws IOException {
        SafetensorsHeader h = read("\0\0\0{\"a\":1}", 0);
        assertThat(h.intact()).isFalse();
        assertThat(h.problems()).singleElement().asString().startsWith("safetensors header is not valid JSON");
    }

    @Test
    void unknownDtypesAreNotJudged() throws IOException {
        assertThat(read("{\"a\":{\"dtype\":\"X9\",\"shape\":[3],\"data_offsets\":[0,5]}}", 5).problems()).isEmpty();
    }

    @Test
    void emptyHeaderWithNoTensorsIsIntact() throws IOException {
        SafetensorsHeader h = read("{\"__metadata__\":{\"format\":\"pt\"}}", 0);
        assertThat(h.problems()).isEmpty();
        assertThat(h.metadata()).containsEntry("format", "pt");
    }

    @Test
    void absurdHeaderLengthIsReportedWithoutReadingIt() throws IOException {
        Path f = tmp.resolve("big.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).put("{\"a\":1}".getBytes(StandardCharsets.US_ASCII));
        Files.write(f, b.array());
        assertThat(SafetensorsHeader.read(f).problems()).containsExactly(
                "safetensors header length 200000000 exceeds the format's limit of 100000000 bytes");
    }

    /** A header of 640 bytes is stored as 80 02 00 00 ...: the opening bytes of a protocol-2 pickle. */
    @Test
    void headerLengthThatLooksLikeAPickleOpcodeIsStillSafetensors() throws IOException {
        String tensor = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}";
        String header = tensor + " ".repeat(640 - tensor.length() - 1) + "}";
        Path f = write(tmp.resolve("model.safetensors"), header, 4);
        assertThat(Files.readAllBytes(f)[0] & 0xff).isEqualTo(0x80);
        assertThat(Files.readAllBytes(f)[1]).isEqualTo((byte) 2);
        Probe p = FileProbe.probe(f);
        assertThat(p.type()).isEqualTo(ContentType.SAFETENSORS);
        assertThat(p.problems()).isEmpty();

        Files.write(f, java.util.Arrays.copyOf(Files.readAllBytes(f), 4)); // cut inside the length field
        Probe cut = FileProbe.probe(f);
        assertThat(cut.type()).isEqualTo(ContentType.SAFETENSORS);
        assertThat(cut.problems()).containsExactly("safetensors file shorter than its 8-byte header length field (4 bytes)");
    }
}
