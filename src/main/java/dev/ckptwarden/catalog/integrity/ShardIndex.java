package dev.ckptwarden.catalog.integrity;

import java.util.List;

/**
 * A Hugging Face sharded-checkpoint index ({@code model.safetensors.index.json},
 * {@code pytorch_model.bin.index.json}) checked against the shards beside it.
 *
 * @param shardFiles the distinct shard file names the index maps tensors to, sorted
 * @param problems   findings: unreadable index, shards named but missing, shards failing their own
 *                   check, tensors the index places in a shard that does not hold them; empty when complete
 */
public record ShardIndex(List<String> shardFiles, List<String> problems) {

    public ShardIndex {
        shardFiles = List.copyOf(shardFiles);
        problems = List.copyOf(problems);
    }

    public boolean complete() {
        return problems.isEmpty();
    }
}
