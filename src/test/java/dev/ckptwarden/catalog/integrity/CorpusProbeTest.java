package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Real non-Lightning artifacts of the corpus probe as what they are, intact or not a checkpoint. */
class CorpusProbeTest {

    private static final String COMPOSER =
            "torch_other/mosaicml__composer/docs/runs/2022-03-09T14-16-11.987733/rank_0/checkpoints/ep1.pt";
    private static final String DCP = "dcp/Lightning-AI__pytorch-lightning/<_io.BufferedRandom name=105>/";

    @Test
    void composerCheckpointCarriesItsTimerAndOptimizer() throws IOException {
        Probe p = FileProbe.probe(Corpus.file(COMPOSER));
        assertThat(p.type()).isEqualTo(ContentType.TORCH_ZIP);
        assertThat(p.problems()).isEmpty();
        TorchMetadata t = p.torch();
        assertThat(t.topLevelKeys()).containsExactly("rng", "seed", "state");
        assertThat(t.epoch()).isEqualTo(1); // state.timer.Timer.epoch; the file is named ep1.pt
        assertThat(t.globalStep()).isEqualTo(10L); // batches seen
        assertThat(t.hasOptimizerState()).isTrue(); // state._optimizers holds SGD
        assertThat(t.lightningVersion()).isNull();
        assertThat(t.entryNames()).contains("archive/data.pkl", "archive/version");
    }

    @Test
    void nemoLegacyModuleCheckpointIsAWeightsOnlyStateDict() throws IOException {
        Probe p = FileProbe.probe(Corpus.file("torch_other/NVIDIA__NeMo/scripts/JasperDecoderForCTC-STEP-243800.pt"));
        assertThat(p.type()).isEqualTo(ContentType.TORCH_LEGACY);
        assertThat(p.problems()).isEmpty();
        assertThat(p.torch().topLevelKeys()).containsExactly("decoder_layers.0.weight", "decoder_layers.0.bias");
        assertThat(p.torch().hasOptimizerState()).isFalse();
        assertThat(p.torch().epoch()).isNull();
        assertThat(p.torch().globalStep()).isNull();
    }

    @Test
    void vggLegacyWeightsAreIntact() throws IOException {
        Probe p = FileProbe.probe(Corpus.file("torch_other/blaneart__ganVanGogh/taming/modules/autoencoder/lpips/vgg.pth"));
        assertThat(p.type()).isEqualTo(ContentType.TORCH_LEGACY);
        assertThat(p.problems()).isEmpty();
        assertThat(p.torch().topLevelKeys()).hasSize(5).allMatch(k -> k.startsWith("lin") && k.endsWith(".weight"));
        assertThat(p.torch().hasOptimizerState()).isFalse();
    }

    @Test
    void hfTrainerSideFilesAreTorchZips() throws IOException {
        Path dir = Corpus.file("hf_trainer/thititj__text-sentiment-api/checkpoint-500");
        for (String name : List.of("rng_state.pth", "scheduler.pt", "training_args.bin")) {
            Probe p = FileProbe.probe(dir.resolve(name));
            assertThat(p.type()).as(name).isEqualTo(ContentType.TORCH_ZIP);
            assertThat(p.problems()).as(name).isEmpty();
            assertThat(p.torch()).as(name).isNotNull();
        }
        assertThat(FileProbe.probe(dir.resolve("trainer_state.json")).type()).isEqualTo(ContentType.JSON);
        assertThat(FileProbe.probe(dir.resolve("trainer_state.json")).problems()).isEmpty();
    }

    @Test
    void dcpShardsAreConcatenatedTorchZipsAndTheManifestIsAPickle() throws IOException {
        for (String shard : List.of("__0_0.distcp", "__1_0.distcp")) {
            Probe p = FileProbe.probe(Corpus.file(DCP + shard));
            assertThat(p.type()).as(shard).isEqualTo(ContentType.TORCH_ZIP);
            assertThat(p.problems()).as(shard).isEmpty();
            assertThat(p.torch()).as(shard).isNotNull();
            assertThat(p.torch().topLevelKeys()).as(shard).isEmpty(); // each payload is one tensor
            assertThat(p.torch().hasOptimizerState()).isNull();
        }
        ZipCentralDirectory cd = ZipCentralDirectory.read(Corpus.file(DCP + "__0_0.distcp"));
        assertThat(cd.archiveStart()).as("the last of several zips back to back").isEqualTo(3120);
        assertThat(cd.zip64()).isTrue();

        Probe manifest = FileProbe.probe(Corpus.file(DCP + ".metadata"));
        assertThat(manifest.type()).isEqualTo(ContentType.PICKLE);
        assertThat(manifest.problems()).isEmpty();
        assertThat(manifest.notACheckpoint()).isFalse();
    }

    @Test
    void flutterMetadataOfTheSameNameIsText() throws IOException {
        Probe p = FileProbe.probe(Corpus.file("negatives/0maru__twitter_login/.metadata"));
        assertThat(p.type()).isEqualTo(ContentType.TEXT);
        assertThat(p.notACheckpoint()).isTrue();
    }

    @Test
    void lfsPointerNamedLastCkptIsNotACheckpoint() throws IOException {
        Probe p = FileProbe.probe(Corpus.file("negatives/prescient-design__lobster/last.ckpt"));
        assertThat(p.type()).isEqualTo(ContentType.LFS_POINTER);
        assertThat(p.size()).isEqualTo(134);
        assertThat(p.notACheckpoint()).isTrue();
        assertThat(p.notACheckpointReason()).isEqualTo("Git LFS pointer, content not fetched");
        assertThat(p.torch()).isNull();
    }

    @Test
    void everySafetensorsFileIsIntact() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(Corpus.root())) {
            files = s.filter(f -> f.toString().endsWith(".safetensors")).toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(8);
        for (Path f : files) {
            Probe p = FileProbe.probe(f);
            assertThat(p.type()).as(f.toString()).isEqualTo(ContentType.SAFETENSORS);
            assertThat(p.problems()).as(f.toString()).isEmpty();
            SafetensorsHeader h = SafetensorsHeader.read(f);
            assertThat(h.expectedFileLength()).as(f.toString()).isEqualTo(Files.size(f));
            assertThat(h.tensorNames()).as(f.toString()).isNotEmpty();
        }
    }

    @Test
    void safetensorsSampleHeaderIsReadInFull() throws IOException {
        SafetensorsHeader h = SafetensorsHeader.read(Corpus.file("safetensors/huggingface__safetensors/samples/overall.safetensors"));
        assertThat(h.headerLength()).isEqualTo(526);
        assertThat(h.tensorNames()).containsExactly("B", "H", "I", "b", "d", "e", "f", "h", "i");
        assertThat(h.tensors().get("d")).isEqualTo(new SafetensorsHeader.Tensor("F64", List.of(6L), 48, 96));
        assertThat(h.metadata()).containsEntry("test", "a");
        assertThat(h.dataLength()).isEqualTo(168);
    }

    @Test
    void kerasArchivesAreKerasZips() throws IOException {
        for (String f : List.of("keras_tf/keras-team__keras/model.keras",
                "keras_tf/keras-team__keras/keras/src/saving/test_data/pre_pr22362_nested_container.keras")) {
            Probe p = FileProbe.probe(Corpus.file(f));
            assertThat(p.type()).as(f).isEqualTo(ContentType.KERAS_ZIP);
            assertThat(p.problems()).as(f).isEmpty();
            assertThat(p.torch()).isNull();
        }
    }

    @Test
    void kerasHdf5FilesAreIntactAndEndWhereTheirSuperblockSays() throws IOException {
        for (String f : List.of("keras_tf/amoazeni75__diabetes-classification/model.h5",
                "keras_tf/amoazeni75__diabetes-classification/weights.best.hdf5")) {
            Path file = Corpus.file(f);
            Probe p = FileProbe.probe(file);
            assertThat(p.type()).as(f).isEqualTo(ContentType.HDF5);
            assertThat(p.problems()).as(f).isEmpty();
            Hdf5Superblock sb = Hdf5Superblock.read(file);
            assertThat(sb.superblockOffset()).isZero();
            assertThat(sb.version()).isZero();
            assertThat(sb.baseAddress() + sb.endOfFileAddress()).isEqualTo(Files.size(file));
        }
    }

    @Test
    void tensorflowIndexFilesAreIntactAndTheirDataShardsAreNotRecognised() throws IOException {
        List<Path> indexes;
        try (Stream<Path> s = Files.walk(Corpus.root().resolve("keras_tf"))) {
            indexes = s.filter(f -> f.toString().endsWith(".index")).toList();
        }
        assertThat(indexes).hasSizeGreaterThanOrEqualTo(8);
        for (Path f : indexes) {
            Probe p = FileProbe.probe(f);
            assertThat(p.type()).as(f.toString()).isEqualTo(ContentType.TF_INDEX);
            assertThat(p.problems()).as(f.toString()).isEmpty();
        }
        Probe data = FileProbe.probe(Corpus.file(
                "keras_tf/costagreg__mnist-handwritten-ml/cn_test_0001/training-3000.data-00000-of-00001"));
        assertThat(data.type()).isEqualTo(ContentType.UNKNOWN);
        assertThat(data.problems()).isEmpty();
        assertThat(data.notACheckpoint()).isFalse();
    }

    @Test
    void tensorflowCheckpointStateFileIsText() throws IOException {
        Probe p = FileProbe.probe(Corpus.file("keras_tf/costagreg__mnist-handwritten-ml/cn_test_0001/checkpoint"));
        assertThat(p.type()).isEqualTo(ContentType.TEXT);
    }

    @Test
    void everyJsonSidecarParses() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(Corpus.root())) {
            files = s.filter(f -> f.toString().endsWith(".json") && Files.isRegularFile(f)).toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(20);
        for (Path f : files) {
            Probe p = FileProbe.probe(f);
            assertThat(p.type()).as(f.toString()).isEqualTo(ContentType.JSON);
            assertThat(p.problems()).as(f.toString()).isEmpty();
            assertThat(p.notACheckpointReason()).isEqualTo("JSON text, not a checkpoint");
        }
    }
}
