package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A save cut off at any point must never pass as intact: real corpus files are copied and truncated
 * at points that matter for each format (the issue behind this: a truncated {@code last.ckpt}
 * picked for resume).
 */
class TruncationTest {

    @TempDir
    Path tmp;

    private Path copy(String corpusFile, String name) throws IOException {
        Path target = tmp.resolve(name);
        Files.copy(Corpus.file(corpusFile), target, StandardCopyOption.REPLACE_EXISTING);
        target.toFile().setWritable(true);
        return target;
    }

    private static Probe probeCut(Path file, long length) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(length);
        }
        return FileProbe.probe(file);
    }

    @Test
    void truncatedLightningCkptIsNeverIntact() throws IOException {
        String source = "lightning/annshorn__EyeTrackDiagError/last.ckpt";
        Path original = Corpus.file(source);
        long size = Files.size(original);
        ZipCentralDirectory cd = ZipCentralDirectory.read(original);
        assertThat(cd.intact()).isTrue();
        long cdStart = cd.centralDirectoryStart();
        assertThat(cdStart).isBetween(size / 2 + 1, size - 1);

        Map<String, Long> cuts = new LinkedHashMap<>();
        cuts.put("inside the first local header", 15L);
        cuts.put("mid-data", size / 2);
        cuts.put("just before the central directory", cdStart);
        cuts.put("missing only the last byte", size - 1);
        for (Map.Entry<String, Long> cut : cuts.entrySet()) {
            Path f = copy(source, "last.ckpt");
            assertThat(FileProbe.probe(f).intact()).as("uncut copy").isTrue();
            Probe p = probeCut(f, cut.getValue());
            assertThat(p.intact()).as(cut.getKey()).isFalse();
            assertThat(p.type()).as(cut.getKey()).isEqualTo(ContentType.TORCH_ZIP);
            assertThat(p.problems()).as(cut.getKey()).containsExactly(ZipCentralDirectory.MISSING);
            assertThat(p.torch()).as(cut.getKey()).isNull();
            assertThat(p.size()).isEqualTo(cut.getValue());
        }
        Probe empty = probeCut(copy(source, "last.ckpt"), 0);
        assertThat(empty.type()).isEqualTo(ContentType.EMPTY);
        assertThat(empty.problems()).containsExactly("empty file (0 bytes)");
        assertThat(empty.notACheckpoint()).as("a 0-byte save is a failed checkpoint, not a non-checkpoint").isFalse();
    }

    @Test
    void ckptCutBeforeItsFirstEntryNameIsStillJudgedByItsExtension() throws IOException {
        Probe p = probeCut(copy("lightning/annshorn__EyeTrackDiagError/last.ckpt", "last.ckpt"), 4);
        assertThat(p.type()).isEqualTo(ContentType.TORCH_ZIP);
        assertThat(p.intact()).isFalse();
        Probe twoBytes = probeCut(copy("lightning/annshorn__EyeTrackDiagError/last.ckpt", "last.ckpt"), 2);
        assertThat(twoBytes.intact()).isFalse();
    }

    @Test
    void truncatedSafetensorsIsNeverIntact() throws IOException {
        String source = "safetensors/huggingface__safetensors/samples/overall.safetensors"; // header 526, data 168
        Map<Long, String> cuts = new LinkedHashMap<>();
        cuts.put(4L, "safetensors file shorter than its 8-byte header length field (4 bytes)");
        cuts.put(100L, "safetensors header cut short: 92 of 526 bytes (file truncated?)");
        cuts.put(618L, "safetensors data shorter than header says: 84 of 168 bytes");
        cuts.put(701L, "safetensors data shorter than header says: 167 of 168 bytes");
        for (Map.Entry<Long, String> cut : cuts.entrySet()) {
            Path f = copy(source, "model.safetensors");
            assertThat(FileProbe.probe(f).intact()).isTrue();
            Probe p = probeCut(f, cut.getKey());
            assertThat(p.type()).as("cut at " + cut.getKey()).isEqualTo(ContentType.SAFETENSORS);
            assertThat(p.problems()).as("cut at " + cut.getKey()).containsExactly(cut.getValue());
        }
        assertThat(probeCut(copy(source, "model.safetensors"), 0).type()).isEqualTo(ContentType.EMPTY);
    }

    @Test
    void truncatedHdf5IsNeverIntact() throws IOException {
        String source = "keras_tf/amoazeni75__diabetes-classification/model.h5"; // 15872 bytes, EOF address 15872
        Map<Long, String> cuts = new LinkedHashMap<>();
        cuts.put(4L, "HDF5 signature missing");
        cuts.put(30L, "HDF5 superblock cut short (file truncated?)");
        cuts.put(8000L, "HDF5 file shorter than its superblock says: 8000 of 15872 bytes");
        cuts.put(15871L, "HDF5 file shorter than its superblock says: 15871 of 15872 bytes");
        for (Map.Entry<Long, String> cut : cuts.entrySet()) {
            Path f = copy(source, "model.h5");
            assertThat(FileProbe.probe(f).intact()).isTrue();
            Probe p = probeCut(f, cut.getKey());
            assertThat(p.type()).as("cut at " + cut.getKey()).isEqualTo(ContentType.HDF5);
            assertThat(p.problems()).as("cut at " + cut.getKey()).containsExactly(cut.getValue());
        }
        assertThat(probeCut(copy(source, "model.h5"), 0).type()).isEqualTo(ContentType.EMPTY);
    }

    /** Found by Hdf5SuperblockFuzzTest: a version 2/3 superblock cut right after its version byte. */
    @Test
    void hdf5CutJustAfterASuperblockVersion2IsCutShortNotACrash() throws IOException {
        Path f = tmp.resolve("model.h5");
        Files.write(f, new byte[] {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n', 2});
        Probe p = FileProbe.probe(f);
        assertThat(p.type()).isEqualTo(ContentType.HDF5);
        assertThat(p.problems()).containsExactly("HDF5 superblock cut short (file truncated?)");
    }

    @Test
    void truncatedLegacyTorchCheckpointIsNeverIntact() throws IOException {
        String source = "lightning/alexey-pronkin__annealed/lightning_logs/version_0/checkpoints/epoch=0.ckpt";
        long size = Files.size(Corpus.file(source));
        Map<Long, String> cuts = new LinkedHashMap<>();
        cuts.put(10L, "torch legacy pickle ends before its STOP opcode (file truncated?)");
        cuts.put(2000L, "torch legacy pickle ends before its STOP opcode (file truncated?)");
        cuts.put(size - 1000, "torch legacy file shorter than its storages need: " + (size - 1000) + " of " + size + " bytes");
        cuts.put(size - 1, "torch legacy file shorter than its storages need: " + (size - 1) + " of " + size + " bytes");
        for (Map.Entry<Long, String> cut : cuts.entrySet()) {
            Path f = copy(source, "epoch=0.ckpt");
            assertThat(FileProbe.probe(f).intact()).isTrue();
            Probe p = probeCut(f, cut.getKey());
            assertThat(p.type()).as("cut at " + cut.getKey()).isEqualTo(ContentType.TORCH_LEGACY);
            assertThat(p.problems()).as("cut at " + cut.getKey()).containsExactly(cut.getValue());
        }
    }

    @Test
    void truncatedTensorflowIndexIsNeverIntact() throws IOException {
        String source = "keras_tf/costagreg__mnist-handwritten-ml/cn_test_0001/training-3000.index"; // 379 bytes
        Map<Long, String> cuts = new LinkedHashMap<>();
        cuts.put(40L, "TensorFlow index shorter than its 48-byte footer (40 bytes)");
        cuts.put(200L, "TensorFlow index footer magic missing (file truncated?)");
        cuts.put(378L, "TensorFlow index footer magic missing (file truncated?)");
        for (Map.Entry<Long, String> cut : cuts.entrySet()) {
            Path f = copy(source, "training-3000.index");
            assertThat(FileProbe.probe(f).intact()).isTrue();
            Probe p = probeCut(f, cut.getKey());
            assertThat(p.type()).as("cut at " + cut.getKey()).isEqualTo(ContentType.TF_INDEX);
            assertThat(p.problems()).as("cut at " + cut.getKey()).containsExactly(cut.getValue());
        }
    }

    @Test
    void truncatedDcpShardIsNeverIntact() throws IOException {
        String source = "dcp/Lightning-AI__pytorch-lightning/<_io.BufferedRandom name=105>/__0_0.distcp";
        long size = Files.size(Corpus.file(source));
        // Cut inside the last of the concatenated zips: the earlier ones are whole, the file is not.
        for (long cut : new long[] {4000, size - 1}) {
            Probe p = probeCut(copy(source, "__0_0.distcp"), cut);
            assertThat(p.type()).isEqualTo(ContentType.TORCH_ZIP);
            assertThat(p.problems()).containsExactly(ZipCentralDirectory.MISSING);
        }
    }

    @Test
    void truncatedJsonSidecarDoesNotParse() throws IOException {
        String source = "hf_trainer/thititj__text-sentiment-api/checkpoint-500/trainer_state.json";
        Probe p = probeCut(copy(source, "trainer_state.json"), 500);
        assertThat(p.type()).isEqualTo(ContentType.JSON);
        assertThat(p.problems()).singleElement().asString().startsWith("JSON does not parse: ");
    }
}
