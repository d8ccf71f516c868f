package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sharded checkpoint is complete only when its index names shards that exist and hold what it says. */
class ShardIndexCheckTest {

    @TempDir
    Path tmp;

    private static final String INDEX = "model.safetensors.index.json";

    @Test
    void corpusIndexWithStandardShardNamesNamesEveryMissingShard() throws IOException {
        ShardIndex idx = ShardIndexCheck.read(Corpus.file("safetensors/junqi-jiang__oasstpythia1.5brm/" + INDEX));
        List<String> expected = IntStream.rangeClosed(1, 6)
                .mapToObj(i -> "model-0000" + i + "-of-00006.safetensors").toList();
        assertThat(idx.shardFiles()).isEqualTo(expected);
        assertThat(idx.problems()).isEqualTo(
                expected.stream().map(s -> "shard " + s + " named by " + INDEX + " is missing").toList());
        assertThat(idx.complete()).isFalse();
    }

    @Test
    void corpusIndexWithPerTensorShardsChecksThePresentOnesAndCountsTheRest() throws IOException {
        ShardIndex idx = ShardIndexCheck.read(
                Corpus.file("safetensors/PANDASANG1231__llama_3.2-3B-huggingface-shard0/" + INDEX));
        assertThat(idx.shardFiles()).hasSize(254).contains("embed_tokens.safetensors",
                "model-00001-model.layers.0.input_layernorm.weight.safetensors");
        // 2 of the 254 shards are present and intact, so 252 are reported: 20 by name, the rest counted
        assertThat(idx.problems()).hasSize(ShardIndexCheck.MAX_LISTED_MISSING + 1);
        assertThat(idx.problems()).contains("shard embed_tokens.safetensors named by " + INDEX + " is missing");
        assertThat(idx.problems()).noneMatch(p -> p.contains("model-00001-model.layers.0.input_layernorm.weight")
                || p.contains("model-00005-model.layers.0.post_attention_layernorm.weight"));
        assertThat(idx.problems().get(ShardIndexCheck.MAX_LISTED_MISSING))
                .isEqualTo("232 more shards named by " + INDEX + " are missing (252 of 254 in all)");
    }

    private Path shard(String name, String tensor, int bytes) throws IOException {
        String header = "{\"" + tensor + "\":{\"dtype\":\"U8\",\"shape\":[" + bytes + "],\"data_offsets\":[0,"
                + bytes + "]}}";
        return SafetensorsHeaderTest.write(tmp.resolve(name), header, bytes);
    }

    private Path index(String weightMap) throws IOException {
        return Files.writeString(tmp.resolve(INDEX),
                "{\"metadata\": {\"total_size\": 12}, \"weight_map\": {" + weightMap + "}}");
    }

    private static final String TWO_SHARDS =
            "\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\"";

    /** Same class as SafetensorsHeaderFuzzTest's finding: leading NULs made the JSON parser guess UTF-32 and throw. */
    @Test
    void indexStartingWithNulBytesDoesNotParseRatherThanFailingTheRead() throws IOException {
        Path index = Files.write(tmp.resolve(INDEX), new byte[] {0, 0, 0, '{', '}'});
        ShardIndex idx = ShardIndexCheck.read(index);
        assertThat(idx.problems()).singleElement().asString().startsWith(INDEX + " does not parse as JSON");
    }

    @Test
    void completeShardSetHasNoProblems() throws IOException {
        shard("model-00001-of-00002.safetensors", "a", 4);
        shard("model-00002-of-00002.safetensors", "b", 8);
        ShardIndex idx = ShardIndexCheck.read(index(TWO_SHARDS));
        assertThat(idx.problems()).isEmpty();
        assertThat(idx.complete()).isTrue();
        assertThat(idx.shardFiles()).containsExactly("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors");
    }

    @Test
    void truncatedShardFailsTheIndex() throws IOException {
        shard("model-00001-of-00002.safetensors", "a", 4);
        Path second = shard("model-00002-of-00002.safetensors", "b", 8);
        Files.write(second, java.util.Arrays.copyOf(Files.readAllBytes(second), (int) Files.size(second) - 3));
        ShardIndex idx = ShardIndexCheck.read(index(TWO_SHARDS));
        assertThat(idx.problems()).containsExactly(
                "shard model-00002-of-00002.safetensors: safetensors data shorter than header says: 5 of 8 bytes");
    }

    @Test
    void shardLackingATensorTheIndexPlacesInItFailsTheIndex() throws IOException {
        shard("model-00001-of-00001.safetensors", "a", 4);
        ShardIndex idx = ShardIndexCheck.read(index(
                "\"a\": \"model-00001-of-00001.safetensors\", \"lm_head.weight\": \"model-00001-of-00001.safetensors\""));
        assertThat(idx.problems()).containsExactly("shard model-00001-of-00001.safetensors lacks 1 of the 2 tensors"
                + " the index places in it (first: 'lm_head.weight')");
    }

    @Test
    void lfsPointerShardIsNotContent() throws IOException {
        Files.writeString(tmp.resolve("model-00001-of-00001.safetensors"),
                "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 10\n");
        ShardIndex idx = ShardIndexCheck.read(index("\"a\": \"model-00001-of-00001.safetensors\""));
        assertThat(idx.problems())
                .containsExactly("shard model-00001-of-00001.safetensors: Git LFS pointer, content not fetched");
    }

    @Test
    void shardNamesCannotEscapeTheDirectory() throws IOException {
        ShardIndex idx = ShardIndexCheck.read(index("\"a\": \"../../etc/passwd\""));
        assertThat(idx.problems()).containsExactly(
                "shard name '../../etc/passwd' in " + INDEX + " points outside its directory");
    }

    @Test
    void malformedIndexIsAProblemNotAnException() throws IOException {
        Path bad = Files.writeString(tmp.resolve("pytorch_model.bin.index.json"), "{\"weight_map\": {\"a\": ");
        assertThat(ShardIndexCheck.read(bad).problems()).singleElement().asString()
                .startsWith("pytorch_model.bin.index.json does not parse as JSON: ");
        Path noMap = Files.writeString(tmp.resolve("x.index.json"), "{\"metadata\": {}}");
        assertThat(ShardIndexCheck.read(noMap).problems()).containsExactly("x.index.json has no weight_map");
        assertThat(ShardIndexCheck.read(noMap).shardFiles()).isEqualTo(List.of());
    }

    @Test
    void torchBinShardsAreCheckedByTheirStateDictKeys() throws IOException {
        byte[] pickle = PickleBytes.protocol2().emptyDict().str("a").none().setItem().stop();
        Files.write(tmp.resolve("pytorch_model-00001-of-00001.bin"),
                ZipCentralDirectoryTest.zip(ZipCentralDirectoryTest.torchEntries(pickle), false, null));
        Path idx = Files.writeString(tmp.resolve("pytorch_model.bin.index.json"), "{\"weight_map\": {"
                + "\"a\": \"pytorch_model-00001-of-00001.bin\", \"b\": \"pytorch_model-00001-of-00001.bin\"}}");
        assertThat(ShardIndexCheck.read(idx).problems()).containsExactly("shard pytorch_model-00001-of-00001.bin"
                + " lacks 1 of the 2 tensors the index places in it (first: 'b')");
    }
}
