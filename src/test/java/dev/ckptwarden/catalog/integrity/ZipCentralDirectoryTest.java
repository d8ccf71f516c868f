package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Central directory location and damage detection on zips written by the JDK and then broken on purpose. */
class ZipCentralDirectoryTest {

    @TempDir
    Path tmp;

    static byte[] zip(Map<String, byte[]> entries, boolean deflate, String comment) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            z.setMethod(deflate ? ZipOutputStream.DEFLATED : ZipOutputStream.STORED);
            if (comment != null) {
                z.setComment(comment);
            }
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (!deflate) {
                    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                    crc.update(e.getValue());
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    static Map<String, byte[]> torchEntries(byte[] pickle) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("last/data.pkl", pickle);
        m.put("last/data/0", new byte[4096]);
        m.put("last/version", "3\n".getBytes());
        return m;
    }

    private Path write(String name, byte[] content) throws IOException {
        return Files.write(tmp.resolve(name), content);
    }

    @Test
    void listsEntriesOfAnIntactZip() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1, 2}), false, null);
        ZipCentralDirectory cd = ZipCentralDirectory.read(write("a.zip", z));
        assertThat(cd.problems()).isEmpty();
        assertThat(cd.entryNames()).containsExactly("last/data.pkl", "last/data/0", "last/version");
        assertThat(cd.archiveStart()).isZero();
        assertThat(cd.zip64()).isFalse();
        assertThat(cd.entry("last/data/0")).get().extracting(ZipCentralDirectory.Entry::size).isEqualTo(4096L);
    }

    @Test
    void aCommentAfterTheEndRecordIsAllowed() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1}), true, "saved by a test");
        assertThat(ZipCentralDirectory.read(write("c.zip", z)).problems()).isEmpty();
    }

    @Test
    void trailingBytesAfterTheEndRecordHideIt() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1}), false, null);
        byte[] padded = Arrays.copyOf(z, z.length + 100);
        assertThat(ZipCentralDirectory.read(write("p.zip", padded)).problems()).containsExactly(ZipCentralDirectory.MISSING);
    }

    @Test
    void directoryOffsetBeyondTheFileIsReported() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1}), false, null);
        ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putInt(z.length - 22 + 16, z.length * 2);
        assertThat(ZipCentralDirectory.read(write("o.zip", z)).problems())
                .containsExactly("zip central directory points past end of file");
    }

    @Test
    void damagedDirectoryHeaderIsReported() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1}), false, null);
        int cdOffset = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).getInt(z.length - 22 + 16);
        z[cdOffset + 2] = 9;
        assertThat(ZipCentralDirectory.read(write("d.zip", z)).problems()).singleElement().asString()
                .startsWith("zip central directory damaged: no entry header at offset ");
    }

    @Test
    void entryCountDisagreeingWithTheEndRecordIsReported() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1}), false, null);
        ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putShort(z.length - 22 + 10, (short) 5);
        assertThat(ZipCentralDirectory.read(write("n.zip", z)).problems())
                .containsExactly("zip central directory lists 3 entries, its end record says 5");
    }

    @Test
    void fileNotStartingWithALocalHeaderIsReported() throws IOException {
        byte[] z = zip(torchEntries(new byte[] {1}), false, null);
        z[3] = 0;
        assertThat(ZipCentralDirectory.read(write("s.zip", z)).problems())
                .contains("zip does not start with a local file header");
    }

    @Test
    void twoZipsBackToBackAreReadFromTheLastOne() throws IOException {
        byte[] first = zip(torchEntries(new byte[] {1}), false, null);
        byte[] second = zip(Map.of("b/data.pkl", new byte[] {2}), false, null);
        byte[] both = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        ZipCentralDirectory cd = ZipCentralDirectory.read(write("both.distcp", both));
        assertThat(cd.problems()).isEmpty();
        assertThat(cd.archiveStart()).isEqualTo(first.length);
        assertThat(cd.entryNames()).containsExactly("b/data.pkl");
    }

    @Test
    void deflatedPickleIsInflatedForMetadata() throws IOException {
        byte[] pickle = PickleBytes.protocol2().emptyDict().str("epoch").integer(12).setItem().stop();
        Path f = write("deflated.pt", zip(torchEntries(pickle), true, null));
        Probe p = FileProbe.probe(f);
        assertThat(p.type()).isEqualTo(ContentType.TORCH_ZIP);
        assertThat(p.problems()).isEmpty();
        assertThat(p.torch().epoch()).isEqualTo(12);
        assertThat(p.torch().entryNames()).containsExactly("last/data.pkl", "last/data/0", "last/version");
    }

    @Test
    void unreadablePickleInASoundZipIsNoMetadataButNoProblem() throws IOException {
        Path f = write("odd.pt", zip(torchEntries(new byte[] {(byte) 0x80, 2, (byte) 0xff}), false, null));
        Probe p = FileProbe.probe(f);
        assertThat(p.type()).isEqualTo(ContentType.TORCH_ZIP);
        assertThat(p.problems()).isEmpty();
        assertThat(p.torch()).isNull();
    }

    @Test
    void kerasAndPlainZipsAreToldApart() throws IOException {
        Map<String, byte[]> keras = new LinkedHashMap<>();
        keras.put("metadata.json", "{}".getBytes());
        keras.put("config.json", "{}".getBytes());
        keras.put("model.weights.h5", new byte[8]);
        assertThat(FileProbe.probe(write("m.keras", zip(keras, false, null))).type()).isEqualTo(ContentType.KERAS_ZIP);
        assertThat(FileProbe.probe(write("notes.zip", zip(Map.of("a.txt", new byte[] {'a'}), true, null))).type())
                .isEqualTo(ContentType.ZIP);
    }

    /**
     * Found by ZipCentralDirectoryFuzzTest (the input is kept as a resource): a zip64 extra field whose local
     * header offset has its top bit set made the reader seek to a negative position and throw
     * IllegalArgumentException out of the probe; it is a damaged directory.
     */
    @Test
    void zip64LocalHeaderOffsetBeyondLongRangeIsDamageNotAnException() throws Exception {
        Path zip = tmp.resolve("model.pt");
        Files.copy(Path.of(getClass().getResource("fuzz-zip64-negative-local-offset.zip").toURI()), zip);
        ZipCentralDirectory cd = ZipCentralDirectory.read(zip);
        assertThat(cd.intact()).isFalse();
        assertThat(FileProbe.probe(zip).intact()).isFalse();
    }
}
