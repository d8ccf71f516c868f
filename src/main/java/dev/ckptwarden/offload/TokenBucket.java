package dev.ckptwarden.offload;

import java.io.InterruptedIOException;
import java.util.function.LongSupplier;

/**
 * A bandwidth limit shared by the transfers of one offload: each chunk takes its size in tokens
 * before it is sent; tokens come back at {@code bytesPerSecond} and at most a quarter of a second's
 * worth (at least one chunk) is saved up, so an idle moment buys no long burst.
 *
 * <p>A caller that finds too few tokens reserves them anyway (the balance goes negative) and sleeps,
 * outside the lock, until the balance it drove below zero would be refilled. Concurrent transfers thus
 * share the rate in the order they asked, and the average over any stretch longer than the burst is
 * the configured rate. Time is read from and waited on through the injected {@link LongSupplier} and
 * {@link Sleeper}, so tests advance a fake clock instead of sleeping.
 */
public final class TokenBucket {

    /** Waits a number of nanoseconds ({@code Thread::sleep} in production, a clock advance in tests). */
    @FunctionalInterface
    public interface Sleeper {
        void sleepNanos(long nanos) throws InterruptedException;

        /** The real one. */
        Sleeper SYSTEM = nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
    }

    private static final long NANOS = 1_000_000_000L;

    private final long rate;
    private final long capacity;
    private final LongSupplier nanoTime;
    private final Sleeper sleeper;
    private long tokens;
    private long last;

    /**
     * @param bytesPerSecond the rate, more than 0
     * @param chunk          the largest single take, so that the saved-up allowance can hold at least one
     */
    public TokenBucket(long bytesPerSecond, int chunk, LongSupplier nanoTime, Sleeper sleeper) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("rate must be more than 0, got " + bytesPerSecond);
        }
        this.rate = bytesPerSecond;
        this.capacity = Math.max(chunk, bytesPerSecond / 4);
        this.nanoTime = nanoTime;
        this.sleeper = sleeper;
        this.last = nanoTime.getAsLong();
        this.tokens = 0; // a fresh limit starts empty: the first second of a copy obeys the rate too
    }

    public long bytesPerSecond() {
        return rate;
    }

    /** Takes {@code bytes} tokens, waiting as long as the rate requires. */
    public void take(long bytes) throws InterruptedIOException {
        long wait = reserve(bytes);
        if (wait <= 0) {
            return;
        }
        try {
            sleeper.sleepNanos(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the offload bandwidth limit");
        }
    }

    /** Takes the tokens now; returns how long the caller must wait before sending (0: at once). */
    synchronized long reserve(long bytes) {
        long now = nanoTime.getAsLong();
        long elapsed = Math.max(0, now - last); // a clock that went back refills nothing
        last = now;
        if (elapsed > 0 && tokens < capacity) {
            long product = elapsed * rate;
            boolean overflow = Math.multiplyHigh(elapsed, rate) != 0 || product < 0;
            tokens = overflow ? capacity : Math.min(capacity, tokens + product / NANOS);
        }
        tokens -= bytes;
        if (tokens >= 0) {
            return 0;
        }
        // ceil(-tokens / rate) seconds, in nanoseconds, without overflowing for large deficits
        long deficit = -tokens;
        long seconds = deficit / rate;
        long rest = deficit % rate;
        return seconds * NANOS + (long) Math.ceil(rest * (double) NANOS / rate);
    }
}
