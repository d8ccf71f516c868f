package dev.ckptwarden.config;

/**
 * {@code offload: {target, verify, max_bandwidth, concurrency}}: where evicted checkpoints are copied
 * before local deletion, and how hard the copy may use the network.
 *
 * @param target       a URI ({@code sftp://}, {@code s3://}, {@code file://}) or an absolute path
 * @param verify       {@code sha256} (sizes, then the stored bytes read back and hashed) or {@code size}
 * @param maxBandwidth bytes per second the root's offload may move (sent, and read back to verify); null: no limit
 * @param concurrency  how many files of one checkpoint are sent at the same time (at least 1)
 */
public record Offload(String target, String verify, Long maxBandwidth, int concurrency) {
    /** Files in flight when {@code concurrency} is not set. */
    public static final int DEFAULT_CONCURRENCY = 2;
    /** The most files in flight a configuration may ask for (each holds a buffer and a connection channel). */
    public static final int MAX_CONCURRENCY = 32;

    public Offload {
        if (concurrency < 1 || concurrency > MAX_CONCURRENCY) {
            throw new IllegalArgumentException("concurrency must be 1.." + MAX_CONCURRENCY + ", got " + concurrency);
        }
        if (maxBandwidth != null && maxBandwidth <= 0) {
            throw new IllegalArgumentException("max_bandwidth must be more than 0, got " + maxBandwidth);
        }
    }

    /** No bandwidth limit, the default concurrency. */
    public Offload(String target, String verify) {
        this(target, verify, null, DEFAULT_CONCURRENCY);
    }
}
