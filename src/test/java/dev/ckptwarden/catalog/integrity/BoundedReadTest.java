package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Probing never reads a checkpoint whole: 8 GiB sparse files (no disk used) are probed through a
 * reader that counts bytes, and the count stays within a small fixed budget.
 */
class BoundedReadTest {

    private static final long EIGHT_GIB = 8L << 30;
    /** Generous: zip and safetensors probes need a few tens of KiB. */
    private static final long HEADER_BUDGET = 1 << 20;

    @TempDir
    Path tmp;

    private static final byte[] PICKLE = PickleBytes.protocol2().emptyDict().mark()
            .str("epoch").integer(16).str("global_step").integer(123_456).str("optimizer_states").emptyList()
            .emptyDict().op('a').setItems().stop();

    private record Measured(Probe probe, long bytesRead) {
    }

    private static Measured probe(Path f) throws IOException {
        try (PositionalReader in = PositionalReader.open(f)) {
            Probe p = FileProbe.probe(f, in);
            return new Measured(p, in.bytesRead());
        }
    }

    @Test
    void eightGibZip64CheckpointIsJudgedFromItsHeaders() throws IOException {
        Path f = tmp.resolve("epoch=16-step=123456.ckpt");
        SparseZip64.write(f, "epoch=16-step=123456", PICKLE, EIGHT_GIB);
        assertThat(Files.size(f)).isGreaterThan(EIGHT_GIB);
        try (ZipFile jdk = new ZipFile(f.toFile())) { // the JDK agrees the archive is well formed
            assertThat(jdk.getEntry("epoch=16-step=123456/data/0").getSize()).isEqualTo(EIGHT_GIB);
        }

        Measured m = probe(f);
        assertThat(m.probe().type()).isEqualTo(ContentType.TORCH_ZIP);
        assertThat(m.probe().problems()).isEmpty();
        assertThat(m.probe().torch().epoch()).isEqualTo(16);
        assertThat(m.probe().torch().globalStep()).isEqualTo(123_456L);
        assertThat(m.probe().torch().hasOptimizerState()).isTrue();
        assertThat(ZipCentralDirectory.read(f).zip64()).isTrue();
        assertThat(m.bytesRead()).isLessThan(HEADER_BUDGET);
    }

    @Test
    void eightGibCheckpointCutBeforeItsDirectoryIsCaughtFromItsTail() throws IOException {
        Path f = tmp.resolve("last.ckpt");
        long cdStart = SparseZip64.write(f, "last", PICKLE, EIGHT_GIB);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(cdStart);
        }
        Measured m = probe(f);
        assertThat(m.probe().type()).isEqualTo(ContentType.TORCH_ZIP);
        assertThat(m.probe().problems()).containsExactly(ZipCentralDirectory.MISSING);
        assertThat(m.bytesRead()).isLessThan(HEADER_BUDGET);
    }

    @Test
    void eightGibSafetensorsIsCheckedByArithmetic() throws IOException {
        long data = EIGHT_GIB;
        byte[] header = ("{\"w\":{\"dtype\":\"BF16\",\"shape\":[" + data / 2 + "],\"data_offsets\":[0," + data + "]}}")
                .getBytes(StandardCharsets.UTF_8);
        Path f = tmp.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            raf.write(header);
            raf.setLength(8 + header.length + data);
        }
        Measured whole = probe(f);
        assertThat(whole.probe().problems()).isEmpty();
        assertThat(whole.bytesRead()).isLessThan(HEADER_BUDGET);

        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(8 + header.length + data - 1);
        }
        Measured cut = probe(f);
        assertThat(cut.probe().problems()).containsExactly(
                "safetensors data shorter than header says: " + (data - 1) + " of " + data + " bytes");
        assertThat(cut.bytesRead()).isLessThan(HEADER_BUDGET);
    }

    @Test
    void eightGibOfZerosNamedLikeACheckpointCostsOnlyItsEdges() throws IOException {
        Path f = tmp.resolve("last.ckpt");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(EIGHT_GIB); // what a preallocating copy leaves behind when it dies
        }
        Measured m = probe(f);
        assertThat(m.probe().type()).isEqualTo(ContentType.UNKNOWN);
        assertThat(m.probe().intact()).isFalse();
        assertThat(m.bytesRead()).isLessThan(HEADER_BUDGET);
    }

    @Test
    void legacyTorchFileReadsAtMostItsPickleBound() throws IOException {
        Path legacy = Corpus.file("torch_other/NVIDIA__NeMo/scripts/JasperDecoderForCTC-STEP-243800.pt");
        Path f = tmp.resolve("big-legacy.pt");
        Files.copy(legacy, f);
        f.toFile().setWritable(true);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(EIGHT_GIB);
        }
        Measured m = probe(f);
        assertThat(m.probe().type()).isEqualTo(ContentType.TORCH_LEGACY);
        assertThat(m.probe().torch().topLevelKeys()).containsExactly("decoder_layers.0.weight", "decoder_layers.0.bias");
        assertThat(m.bytesRead()).as("a small object pickle is found in the first read").isLessThan(HEADER_BUDGET);
    }

    @Test
    void legacyObjectPickleLargerThanTheFirstReadIsStillReadOnce() throws IOException {
        PickleBytes main = PickleBytes.protocol2().emptyDict().mark().str("epoch").integer(5)
                .str("hyper_parameters").str("x".repeat(3 << 20)).setItems();
        byte[] mainPickle = main.stop();
        Path f = tmp.resolve("big-pickle.pt");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(PickleBytes.protocol2().op(0x8a).op(10).op(0x6c).op(0xfc).op(0x9c).op(0x46).op(0xf9).op(0x20)
                    .op(0x6a).op(0xa8).op(0x50).op(0x19).stop()); // torch's magic number
            raf.write(PickleBytes.protocol2().integer(1001).stop());
            raf.write(PickleBytes.protocol2().emptyDict().str("little_endian").op(0x88).setItem().stop());
            raf.write(mainPickle);
            raf.write(PickleBytes.protocol2().emptyList().stop());
            raf.setLength(EIGHT_GIB);
        }
        Measured m = probe(f);
        assertThat(m.probe().type()).isEqualTo(ContentType.TORCH_LEGACY);
        assertThat(m.probe().torch().epoch()).isEqualTo(5);
        assertThat(m.bytesRead()).isGreaterThan(mainPickle.length).isLessThan(4L * mainPickle.length + HEADER_BUDGET);
        assertThat(m.bytesRead()).isLessThanOrEqualTo(FileProbe.MAX_PICKLE_BYTES + HEADER_BUDGET);
    }
}
