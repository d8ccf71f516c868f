package dev.ckptwarden.offload;

/**
 * One file or directory of a checkpoint being offloaded.
 *
 * @param path           relative to the directory holding the checkpoint, '/'-separated
 *                       ({@code epoch=3.ckpt}, {@code checkpoint-500/model.safetensors})
 * @param directory      true for a directory (its own bytes are 0)
 * @param bytes          a file's size
 * @param modifiedMillis the modification time, restored on the way back
 */
public record SourceEntry(String path, boolean directory, long bytes, long modifiedMillis) {
}
