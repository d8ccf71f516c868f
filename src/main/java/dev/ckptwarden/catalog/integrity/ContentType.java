package dev.ckptwarden.catalog.integrity;

/**
 * What a file's bytes say it is, whatever its name. {@code TORCH_ZIP}: torch.save since 1.6 (also
 * Lightning {@code .ckpt}, DCP {@code .distcp}); {@code TORCH_LEGACY}: torch.save before 1.6 (a
 * pickle stream starting with torch's magic number); {@code PICKLE}: any other pickle (DCP's
 * {@code .metadata}); {@code TF_INDEX}: a TensorFlow checkpoint {@code .index} table.
 */
public enum ContentType {
    TORCH_ZIP, KERAS_ZIP, ZIP, TORCH_LEGACY, PICKLE, SAFETENSORS, HDF5, TF_INDEX, JSON, LFS_POINTER, HTML, EMPTY,
    TEXT, UNKNOWN
}
