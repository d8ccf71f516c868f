package dev.ckptwarden.remote.s3;

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
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writes one S3 object from a stream in constant memory: bytes are buffered up to one part; an
 * object that fits in one part is sent with a single PUT at close, a larger one as a multipart
 * upload whose parts go out as they fill and which is completed at close. Nothing is visible under
 * the key until close succeeds. A failure while sending aborts the multipart upload; so does
 * {@link #abort()}, after which close completes nothing.
 *
 * <p>The part size doubles every {@value #PARTS_PER_SIZE} parts so that S3's limit of 10,000 parts
 * is never reached: 8 MiB parts carry the first 8 GiB, and memory grows only for objects beyond that.
 *
 * <p>Up to {@code partsInFlight} parts are sent at the same time (one request each) while the next
 * part fills, so that one request's latency does not idle the stream; memory is bounded by
 * {@code partsInFlight + 1} part buffers, which are reused. The parts are completed in order. A
 * failed part fails the next write or the close, after the parts still in flight have ended.
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
    private final int partsInFlight;
    private byte[] buffer = new byte[INITIAL_BUFFER];
    private int filled;
    private String uploadId;
    private final List<CompletedPart> parts = new ArrayList<>();
    private int partsStarted;
    private ExecutorService senders;
    private final Deque<Future<SentPart>> inFlight = new ArrayDeque<>();
    private final Deque<byte[]> freeBuffers = new ArrayDeque<>();
    private boolean closed;
    private boolean aborted;

    /** A part the server stored, and the buffer it was sent from (free again). */
    private record SentPart(CompletedPart part, byte[] buffer) {
    }

    S3UploadStream(S3Client client, String bucket, String key, long basePartSize, String shown) {
        this(client, bucket, key, basePartSize, shown, 1);
    }

    /** @param partsInFlight how many parts may be on their way at once (1: each part sent before the next fills) */
    S3UploadStream(S3Client client, String bucket, String key, long basePartSize, String shown, int partsInFlight) {
        this.client = client;
        this.bucket = bucket;
        this.key = key;
        this.basePartSize = basePartSize;
        this.shown = shown;
        this.partsInFlight = Math.max(1, partsInFlight);
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
        int doublings = Math.min(partsStarted / PARTS_PER_SIZE, 10);
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
        } catch (SdkException e) {
            throw new IOException("cannot start the upload of " + shown + ": " + message(e), e);
        }
        int number = ++partsStarted;
        byte[] data = buffer;
        int length = filled;
        if (partsInFlight == 1) {
            try {
                parts.add(uploadPart(number, data, length).part());
            } catch (IOException e) {
                throw failed(e);
            }
            filled = 0;
            return;
        }
        while (!inFlight.isEmpty() && (inFlight.size() >= partsInFlight || inFlight.peekFirst().isDone())) {
            collectOldest();
        }
        if (senders == null) {
            AtomicInteger n = new AtomicInteger();
            senders = Executors.newFixedThreadPool(partsInFlight, r -> {
                Thread t = new Thread(r, "s3 part sender " + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        inFlight.addLast(senders.submit(() -> uploadPart(number, data, length)));
        byte[] next = freeBuffers.pollFirst();
        buffer = next != null ? next : new byte[(int) partSize()];
        filled = 0;
    }

    /** Sends one part; an SDK failure becomes an {@link IOException} naming the part. */
    private SentPart uploadPart(int number, byte[] data, int length) throws IOException {
        try {
            UploadPartResponse r = client.uploadPart(p -> p.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                    .contentLength((long) length), RequestBody.fromInputStream(new ByteArrayInputStream(data, 0, length),
                    length));
            return new SentPart(CompletedPart.builder().partNumber(number).eTag(r.eTag()).build(), data);
        } catch (SdkException e) {
            throw new IOException("cannot upload part " + number + " of " + shown + ": " + message(e), e);
        }
    }

    /** Waits for the oldest part in flight; on its failure, ends the others and aborts the upload. */
    private void collectOldest() throws IOException {
        Future<SentPart> f = inFlight.pollFirst();
        try {
            SentPart done = f.get();
            parts.add(done.part());
            freeBuffers.addLast(done.buffer());
        } catch (ExecutionException e) {
            throw failed(e.getCause() instanceof IOException io ? io : new IOException(e.getCause().toString(),
                    e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed(new InterruptedIOException("interrupted while uploading " + shown));
        }
    }

    /** {@code cause}, after the upload was aborted (its message says when the abort itself failed). */
    private IOException failed(IOException cause) {
        String abortProblem = abort();
        return abortProblem == null ? cause : new IOException(cause.getMessage() + "; " + abortProblem, cause);
    }

    private void sendAll() throws IOException {
        try {
            if (filled > 0) {
                sendPart();
            }
            while (!inFlight.isEmpty()) {
                collectOldest();
            }
        } catch (IOException e) {
            if (!aborted) {
                throw failed(e);
            }
            throw e;
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
        closed = false;
        try {
            sendAll();
        } finally {
            closed = true;
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
            stopSenders();
        }
    }

    /** Lets the parts in flight end (an abort must not race a part still being stored), then frees the threads. */
    private void stopSenders() {
        if (senders == null) {
            return;
        }
        senders.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (senders.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        inFlight.clear();
        freeBuffers.clear();
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
        stopSenders();
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
