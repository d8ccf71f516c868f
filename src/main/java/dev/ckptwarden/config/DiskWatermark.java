package dev.ckptwarden.config;

/** {@code disk:} free-space watermark, as bytes or as a ratio of the filesystem size; null when unset. */
public record DiskWatermark(Long minFree, Double minFreeRatio) {
    public static final DiskWatermark NONE = new DiskWatermark(null, null);

    /** Required free bytes on a filesystem of the given size, or 0 when no watermark is set. */
    public long requiredFree(long filesystemSize) {
        long fromBytes = minFree == null ? 0 : minFree;
        long fromRatio = minFreeRatio == null ? 0 : (long) Math.ceil(minFreeRatio * filesystemSize);
        return Math.max(fromBytes, fromRatio);
    }
}
