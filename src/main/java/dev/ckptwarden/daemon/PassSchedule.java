package dev.ckptwarden.daemon;

import java.time.Duration;
import java.time.Instant;

/**
 * When the agent's passes and lease renewals run. Passes never overlap (one that comes due during
 * another waits its turn); lease renewal runs beside them, never behind a long pass. The kind of each
 * pass travels as a {@link PassKind}, not as a name to be read back. Tests drive passes directly with
 * {@link Agent#run(PassKind)} or give the agent a schedule of their own.
 */
interface PassSchedule extends AutoCloseable {

    /** Periodic passes every {@code period}, the first one period from now; replaces an earlier period. */
    void every(Duration period);

    /**
     * One pass of {@code kind} at {@code at} (at once when that has passed); a request for the same kind
     * and instant as one still pending is the same pass.
     *
     * @return false when it could not be scheduled (logged): the caller's "already pending" flag is to be reset
     */
    boolean once(PassKind kind, Instant at);

    /** Runs {@code renewal} every {@code period}, the first one period from now. */
    void renewEvery(Duration period, Runnable renewal);

    /** Starts running what is scheduled; what was scheduled before (a reload asked for during startup) runs then. */
    void start();

    /** True between {@link #start()} and {@link #close()}. */
    boolean running();

    /** Stops scheduling and waits for the pass in progress to end. */
    @Override
    void close();
}
