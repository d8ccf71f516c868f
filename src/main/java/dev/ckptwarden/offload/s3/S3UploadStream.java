package dev.ckptwarden.offload.s3;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes one S3 object from a stream in constant memory: bytes are buffered up to one part; an
 * object that fits in one part is sent with a single PUT at close, a larger one as a multipart
 * upload whose parts go out as they fill and which is completed at close. Nothing is visible under
 * the key until close succeeds. A failure while sending aborts the multipart upload; so does
 * {@link #abort()}, after which close completes nothing.
 *
 * <p>The part size doubles every {@value #PARTS_PER_SIZE} parts so that S3's limit of 10,000 parts
 * is never reached: 8 MiB parts carry the first 8 GiB, and memory grows only for objects beyond that.
 */
final class S3UploadStream extends OutputStream {
    private static final Logger log = LoggerFactory.getLogger(S3UploadStream.class);
    static final int PARTS_PER_SIZE = 1000;
    private static final int INITIAL_BUFFER = 64 << 10;

    private final S3Client client;
    private final String bucket;
    private final String key;
    private final long basePartSize;
    private final String shown;
    private byte[] buffer = new byte[INITIAL_BUFFER];
    private int filled;
    private String uploadId;
    private final List<CompletedPart> parts = new ArrayList<>();
    private boolean closed;
    private boolean aborted;

    S3UploadStream(S3Client client, String bucket, String key, long basePartSize, String shown) {
        this.client = client;
        this.bucket = bucket;
        this.key = key;
        this.basePartSize = basePartSize;
        this.shown = shown;
    }

    /**
     * Aborts unfinished multipart uploads of this very key (left by a process that died mid-upload
     * or could not reach the server to abort): their parts are invisible but stored.
     */
    void abortStaleUploads() {
        try {
            for (MultipartUpload u : client.listMultipartUploads(r -> r.bucket(bucket).prefix(key)).uploads()) {
                if (key.equals(u.key())) {
                    client.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(u.uploadId()));
                    log.info("aborted an unfinished multipart upload of {} (id {}, started {})", shown, u.uploadId(),
                            u.initiated());
                }
            }
        } catch (SdkException e) {
            // Hygiene only: the new upload does not depend on it.
            log.debug("could not list unfinished multipart uploads of {}: {}", shown, message(e));
        }
    }

    private long partSize() {
        int doublings = Math.min(parts.size() / PARTS_PER_SIZE, 10);
        return Math.min(basePartSize << doublings, Integer.MAX_VALUE - 8);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[]{(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ensureOpen();
        while (len > 0) {
            int limit = (int) partSize();
            if (filled == limit) {
                sendPart();
            }
            if (filled == buffer.length) {
                buffer = Arrays.copyOf(buffer, (int) Math.min((long) buffer.length * 2, limit));
            }
            int n = Math.min(len, buffer.length - filled);
            System.arraycopy(b, off, buffer, filled, n);
            filled += n;
            off += n;
            len -= n;
        }
    }

    private void ensureOpen() throws IOException {
        if (aborted) {
            throw new IOException("upload of " + shown + " was aborted");
        }
        if (closed) {
            throw new IOException("upload of " + shown + " is closed");
        }
    }

    private void sendPart() throws IOException {
        try {
            if (uploadId == null) {
                uploadId = client.createMultipartUpload(r -> r.bucket(bucket).key(key)).uploadId();
            }
            int number = parts.size() + 1;
            UploadPartResponse r = client.uploadPart(p -> p.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                    .contentLength((long) filled), RequestBody.fromInputStream(new ByteArrayInputStream(buffer, 0, filled),
                    filled));
            parts.add(CompletedPart.builder().partNumber(number).eTag(r.eTag()).build());
            filled = 0;
        } catch (SdkException e) {
            String abortProblem = abort();
            throw new IOException("cannot upload part " + (parts.size() + 1) + " of " + shown + ": " + message(e)
                    + (abortProblem == null ? "" : "; " + abortProblem), e);
        }
    }

    @Override
    public void close() throws IOException {
        if (closed || aborted) {
            closed = true;
            return;
        }
        closed = true;
        if (uploadId == null) {
            try {
                client.putObject(r -> r.bucket(bucket).key(key).contentLength((long) filled),
                        RequestBody.fromInputStream(new ByteArrayInputStream(buffer, 0, filled), filled));
            } catch (SdkException e) {
                throw new IOException("cannot upload " + shown + ": " + message(e), e);
            } finally {
                buffer = null;
            }
            return;
        }
        if (filled > 0) {
            closed = false;
            try {
                sendPart();
            } finally {
                closed = true;
            }
        }
        try {
            client.completeMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(parts)));
        } catch (SdkException e) {
            String abortProblem = abort();
            throw new IOException("cannot complete the upload of " + shown + ": " + message(e)
                    + (abortProblem == null ? "" : "; " + abortProblem), e);
        } finally {
            buffer = null;
        }
    }

    /**
     * Gives the upload up: aborts the multipart upload if one was started; close then does nothing.
     *
     * @return what went wrong aborting, or null
     */
    String abort() {
        if (aborted) {
            return null;
        }
        aborted = true;
        buffer = null;
        if (uploadId == null) {
            return null;
        }
        try {
            client.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId));
            return null;
        } catch (SdkException e) {
            log.warn("could not abort the multipart upload {} of {}: {}", uploadId, shown, message(e));
            return "unfinished multipart upload " + uploadId + " of " + shown + " not aborted (" + message(e)
                    + "); the next upload of this key aborts it";
        }
    }

    /** An SDK failure in one line: the service's code and message, or the client-side cause. */
    static String message(SdkException e) {
        if (e instanceof AwsServiceException s && s.awsErrorDetails() != null) {
            String code = s.awsErrorDetails().errorCode();
            String msg = s.awsErrorDetails().errorMessage();
            return "HTTP " + s.statusCode() + (code == null ? "" : " " + code) + (msg == null ? "" : ": " + msg);
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root == e ? e.getMessage() : root.getClass().getSimpleName() + ": " + root.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
