package dev.ckptwarden.remote.s3;

import org.apache.commons.vfs2.FileSystem;
import org.apache.commons.vfs2.FileSystemConfigBuilder;
import org.apache.commons.vfs2.FileSystemOptions;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

import java.net.URI;
import java.time.Duration;

/**
 * Options of the {@code s3://} provider: endpoint (for S3-compatible stores; path-style addressing
 * is used whenever an endpoint is set, since such stores rarely have per-bucket DNS), region,
 * credentials (default: the AWS SDK's default chain), multipart part size, attempts per request and
 * the HTTP timeouts. Every option left unset falls back to the SDK's own resolution.
 */
public final class S3FileSystemConfigBuilder extends FileSystemConfigBuilder {
    private static final S3FileSystemConfigBuilder INSTANCE = new S3FileSystemConfigBuilder();

    /** 8 MiB: above S3's 5 MiB minimum part, small enough to buffer one part in memory. */
    public static final long DEFAULT_PART_SIZE = 8L << 20;
    /** S3's smallest part (except the last). */
    public static final long MIN_PART_SIZE = 5L << 20;
    /** Parts of one object sent at the same time when not set: enough to hide one request's latency. */
    public static final int DEFAULT_PARTS_IN_FLIGHT = 4;

    private static final String ENDPOINT = "endpoint";
    private static final String REGION = "region";
    private static final String CREDENTIALS = "credentials";
    private static final String PART_SIZE = "partSize";
    private static final String PARTS_IN_FLIGHT = "partsInFlight";
    private static final String MAX_ATTEMPTS = "maxAttempts";
    private static final String CONNECT_TIMEOUT = "connectTimeout";
    private static final String SOCKET_TIMEOUT = "socketTimeout";

    private S3FileSystemConfigBuilder() {
        super("s3.");
    }

    public static S3FileSystemConfigBuilder getInstance() {
        return INSTANCE;
    }

    @Override
    protected Class<? extends FileSystem> getConfigClass() {
        return S3FileSystem.class;
    }

    public void setEndpoint(FileSystemOptions opts, URI endpoint) {
        setParam(opts, ENDPOINT, endpoint);
    }

    public URI getEndpoint(FileSystemOptions opts) {
        return (URI) getParam(opts, ENDPOINT);
    }

    public void setRegion(FileSystemOptions opts, String region) {
        setParam(opts, REGION, region);
    }

    public String getRegion(FileSystemOptions opts) {
        return getString(opts, REGION);
    }

    public void setCredentials(FileSystemOptions opts, AwsCredentialsProvider credentials) {
        setParam(opts, CREDENTIALS, credentials);
    }

    public AwsCredentialsProvider getCredentials(FileSystemOptions opts) {
        return (AwsCredentialsProvider) getParam(opts, CREDENTIALS);
    }

    /** Bytes buffered per part; at least {@link #MIN_PART_SIZE}. */
    public void setPartSize(FileSystemOptions opts, long bytes) {
        if (bytes < MIN_PART_SIZE) {
            throw new IllegalArgumentException("S3 part size must be at least " + MIN_PART_SIZE + " bytes, not " + bytes);
        }
        setParam(opts, PART_SIZE, bytes);
    }

    public long getPartSize(FileSystemOptions opts) {
        Long v = (Long) getParam(opts, PART_SIZE);
        return v == null ? DEFAULT_PART_SIZE : v;
    }

    /** Parts of one object uploaded at the same time (each holds a part buffer); at least 1. */
    public void setPartsInFlight(FileSystemOptions opts, int parts) {
        if (parts < 1) {
            throw new IllegalArgumentException("parts in flight must be at least 1, not " + parts);
        }
        setParam(opts, PARTS_IN_FLIGHT, parts);
    }

    public int getPartsInFlight(FileSystemOptions opts) {
        Integer v = (Integer) getParam(opts, PARTS_IN_FLIGHT);
        return v == null ? DEFAULT_PARTS_IN_FLIGHT : v;
    }

    /** Attempts per request, the first included (the SDK retries transient failures). */
    public void setMaxAttempts(FileSystemOptions opts, int attempts) {
        setParam(opts, MAX_ATTEMPTS, attempts);
    }

    public Integer getMaxAttempts(FileSystemOptions opts) {
        return (Integer) getParam(opts, MAX_ATTEMPTS);
    }

    public void setConnectTimeout(FileSystemOptions opts, Duration timeout) {
        setParam(opts, CONNECT_TIMEOUT, timeout);
    }

    public Duration getConnectTimeout(FileSystemOptions opts) {
        return (Duration) getParam(opts, CONNECT_TIMEOUT);
    }

    /** How long a read on an open connection may wait (a server that stops answering mid-transfer). */
    public void setSocketTimeout(FileSystemOptions opts, Duration timeout) {
        setParam(opts, SOCKET_TIMEOUT, timeout);
    }

    public Duration getSocketTimeout(FileSystemOptions opts) {
        return (Duration) getParam(opts, SOCKET_TIMEOUT);
    }
}
