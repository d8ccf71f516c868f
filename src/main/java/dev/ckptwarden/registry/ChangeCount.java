package dev.ckptwarden.registry;

/**
 * Turns the database's change counter, which every writer raises, into the number of changes made by
 * others that this process has noticed ({@link Registry#externalChangeCounter()}). A write of ours
 * that raised the counter to {@code n} found it at {@code n - 1} under the write lock, so a step from
 * {@code n - 1} to {@code n} is ours alone; any other step, including one seen out of order by two of
 * our threads, is counted as someone else's. Counting a change of our own as another's costs a
 * re-read; the reverse cannot happen, as every step that is not counted covers only our own writes.
 */
final class ChangeCount {
    /** The counter as last seen (after our last write or read); -1 before the first. */
    private long last = -1;
    private long external;

    /** One of our write transactions raised the counter to {@code counter} and committed. */
    synchronized void own(long counter) {
        if (counter - 1 != last) {
            external++;
        }
        last = Math.max(last, counter);
    }

    /** The counter read as {@code counter}; returns the changes by others noticed so far. */
    synchronized long seen(long counter) {
        if (counter != last) {
            external++;
            last = counter;
        }
        return external;
    }
}
