package dev.ckptwarden.offload;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;
    private static final int MIB = 1 << 20;

    /** A clock that only moves when the bucket makes someone wait. */
    private final AtomicLong now = new AtomicLong(5 * SECOND);
    private final List<Long> waits = new ArrayList<>();
    private final TokenBucket.Sleeper sleeper = nanos -> {
        waits.add(nanos);
        now.addAndGet(nanos);
    };

    @Test
    void sendingTakesBytesOverRateSecondsWhatTheChunkSize() throws Exception {
        TokenBucket b = new TokenBucket(10L * MIB, MIB, now::get, sleeper);
        long start = now.get();
        for (int i = 0; i < 100; i++) {
            b.take(MIB);
        }
        // 100 MiB at 10 MiB/s: 10 s, and the bucket starts empty so no burst shortens it
        assertThat(now.get() - start).isEqualTo(10 * SECOND);

        TokenBucket small = new TokenBucket(10L * MIB, MIB, now::get, sleeper);
        start = now.get();
        for (int i = 0; i < 10 * 1024; i++) {
            small.take(10 * 1024); // 100 MiB in 10 KiB pieces
        }
        assertThat(now.get() - start).isBetween(10 * SECOND - 2, 10 * SECOND + 10 * 1024);
    }

    @Test
    void anIdleStretchBuysAtMostAQuarterSecondOfBurst() throws Exception {
        TokenBucket b = new TokenBucket(8L * MIB, MIB, now::get, sleeper);
        now.addAndGet(3600 * SECOND); // an hour idle
        waits.clear();
        b.take(2L * MIB); // a quarter second of 8 MiB/s is 2 MiB: free
        assertThat(waits).isEmpty();
        b.take(MIB);
        assertThat(waits).containsExactly(SECOND / 8);
    }

    @Test
    void aClockThatStepsBackRefillsNothing() throws Exception {
        TokenBucket b = new TokenBucket(MIB, MIB, now::get, sleeper);
        now.addAndGet(-3600 * SECOND);
        b.take(MIB);
        assertThat(waits).containsExactly(SECOND);
    }

    @Test
    void concurrentTakersShareTheRate() throws Exception {
        // Real threads, fake time: each reservation is made under the lock, so the total wait of
        // two takers is what one taker of both amounts would wait.
        AtomicLong clock = new AtomicLong();
        TokenBucket b = new TokenBucket(MIB, MIB, clock::get, nanos -> { });
        long[] waited = new long[2];
        Thread[] t = new Thread[2];
        for (int i = 0; i < 2; i++) {
            int k = i;
            t[i] = new Thread(() -> {
                for (int j = 0; j < 4; j++) {
                    waited[k] = Math.max(waited[k], b.reserve(MIB));
                }
            });
            t[i].start();
        }
        for (Thread x : t) {
            x.join();
        }
        assertThat(Math.max(waited[0], waited[1])).as("8 MiB at 1 MiB/s with no time passing").isEqualTo(8 * SECOND);
    }
}
