package dev.ckptwarden.offload;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The transfers of one checkpoint copy: up to {@code concurrency} at a time, all drawing on one
 * bandwidth limit. The first failure stops the others at their next chunk, and {@link #run} returns
 * only when none is still running, so that cleaning up after a failure never races a transfer that
 * is still writing.
 */
final class TransferPool {

    /** One transfer. */
    @FunctionalInterface
    interface Task<T, R> {
        R run(T item) throws IOException;
    }

    /** Thrown inside a transfer that another one's failure stopped; never leaves {@link #run}. */
    private static final class Stopped extends IOException {
        Stopped() {
            super("stopped: another transfer of this checkpoint failed");
        }
    }

    private final int concurrency;
    private final TokenBucket bucket;
    private final String name;
    private volatile boolean stopped;

    /** @param bucket the bandwidth limit, or null for none */
    TransferPool(int concurrency, TokenBucket bucket, String name) {
        this.concurrency = Math.max(1, concurrency);
        this.bucket = bucket;
        this.name = name;
    }

    /** The shared bandwidth limit, or null. */
    TokenBucket bucket() {
        return bucket;
    }

    /** Called by a transfer between chunks: ends it when another one of the same run failed. */
    void checkNotStopped() throws IOException {
        if (stopped) {
            throw new Stopped();
        }
    }

    /**
     * Runs {@code task} on every item, at most {@code concurrency} at a time.
     *
     * @return the results in the order of {@code items}
     * @throws IOException the first failure (by time), once every transfer has ended
     */
    <T, R> List<R> run(List<T> items, Task<T, R> task) throws IOException {
        stopped = false;
        int threads = Math.min(concurrency, items.size());
        List<R> out = new ArrayList<>(items.size());
        if (threads <= 1) {
            for (T item : items) {
                out.add(task.run(item));
            }
            return out;
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "offload " + name + " #" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        Throwable[] first = new Throwable[1];
        List<Future<R>> futures = new ArrayList<>();
        try {
            for (T item : items) {
                futures.add(pool.submit(() -> {
                    checkNotStopped();
                    try {
                        return task.run(item);
                    } catch (Stopped s) {
                        throw s;
                    } catch (IOException | RuntimeException | Error e) {
                        synchronized (first) {
                            if (first[0] == null) {
                                first[0] = e;
                            }
                        }
                        stopped = true;
                        throw e;
                    }
                }));
            }
            for (Future<R> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    out.add(null); // the failure is in first[0]
                } catch (InterruptedException e) {
                    stopped = true;
                    Thread.currentThread().interrupt();
                    synchronized (first) {
                        if (first[0] == null) {
                            first[0] = new InterruptedIOException("interrupted while offloading");
                        }
                    }
                    break;
                }
            }
        } finally {
            pool.shutdown();
            awaitAll(pool);
        }
        synchronized (first) {
            if (first[0] instanceof IOException io) {
                throw io;
            }
            if (first[0] instanceof RuntimeException rt) {
                throw rt;
            }
            if (first[0] instanceof Error err) {
                throw err;
            }
        }
        return out;
    }

    /** Waits for every transfer; an interrupt is kept for the caller, not acted on while transfers still write. */
    private static void awaitAll(ExecutorService pool) {
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
