package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** An in-process S3Proxy on 127.0.0.1 over jclouds' in-memory ("transient") blob store, with one bucket. */
public final class S3TestServer implements AutoCloseable {
    public static final String BUCKET = "archive";
    public static final String ACCESS_KEY = "offload-access";
    public static final String SECRET_KEY = "offload-secret";

    private final BlobStoreContext context;
    public final BlobStore store;
    private final S3Proxy proxy;

    private S3TestServer(BlobStoreContext context, S3Proxy proxy) {
        this.context = context;
        this.store = context.getBlobStore();
        this.proxy = proxy;
    }

    public static S3TestServer start() throws Exception {
        return start(UnaryOperator.identity());
    }

    /**
     * A server whose requests go through {@code front} (a {@link org.jclouds.blobstore.util.ForwardingBlobStore}
     * that fails chosen calls) before the store; {@link #store} is the store itself.
     */
    public static S3TestServer start(UnaryOperator<BlobStore> front) throws Exception {
        BlobStoreContext ctx = ContextBuilder.newBuilder("transient").credentials("identity", "credential")
                .buildView(BlobStoreContext.class);
        ctx.getBlobStore().createContainerInLocation(null, BUCKET);
        S3Proxy proxy = S3Proxy.builder().blobStore(front.apply(ctx.getBlobStore()))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .endpoint(URI.create("http://127.0.0.1:0")).build();
        proxy.start();
        return new S3TestServer(ctx, proxy);
    }

    public int port() {
        return proxy.getPort();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port());
    }

    /** Settings reaching this server at {@code endpoint} (itself, or a proxy in front of it) with {@code secret}. */
    public static RemoteSettings settings(URI endpoint, String secret) {
        return new RemoteSettings(null, null, java.nio.file.Path.of("/nonexistent/known_hosts"), null, null, null, 0, 0,
                Duration.ofSeconds(5), Duration.ofSeconds(20))
                .withS3(endpoint, "us-east-1", StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, secret)))
                .withLimits(5L << 20, 2, Duration.ofSeconds(5), Duration.ofSeconds(20));
    }

    public RemoteSettings settings() {
        return settings(endpoint(), SECRET_KEY);
    }

    /**
     * Every object key in the bucket, as S3 clients see them: the transient store's own bookkeeping of
     * unfinished multipart uploads (hidden {@code .mpus-<id>-...} blobs and a blob named by the upload id)
     * is left out; {@link #unfinishedUploads()} counts those uploads.
     */
    public List<String> keys() {
        List<String> out = new ArrayList<>();
        java.util.Set<String> uploads = new java.util.HashSet<>();
        store.listMultipartUploads(BUCKET).forEach(u -> uploads.add(u.id()));
        for (StorageMetadata m : store.list(BUCKET, ListContainerOptions.Builder.recursive())) {
            String n = m.getName();
            if (m.getType() == org.jclouds.blobstore.domain.StorageType.BLOB && !n.startsWith(".mpus-")
                    && !uploads.contains(n)) {
                out.add(n);
            }
        }
        out.sort(null);
        return out;
    }

    public byte[] get(String key) throws IOException {
        Blob b = store.getBlob(BUCKET, key);
        if (b == null) {
            return null;
        }
        try (InputStream in = b.getPayload().openStream()) {
            return in.readAllBytes();
        }
    }

    /** Multipart uploads started and neither completed nor aborted. */
    int unfinishedUploads() {
        return store.listMultipartUploads(BUCKET).size();
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
        context.close();
    }
}
