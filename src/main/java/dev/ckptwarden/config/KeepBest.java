package dev.ckptwarden.config;

/** {@code keep_best: {k, metric, mode}}: the k best checkpoints by a metric. */
public record KeepBest(int k, String metric, Mode mode) {
    /** Whether lower ({@code min}) or higher ({@code max}) metric values are better. */
    public enum Mode { MIN, MAX }
}
