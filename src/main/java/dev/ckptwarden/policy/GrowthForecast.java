package dev.ckptwarden.policy;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.registry.Registered;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * How fast checkpoints fill a filesystem, and when it will be full. The usage series is rebuilt from
 * the registry's history (a checkpoint adds its bytes when first seen and gives them back when
 * deleted or offloaded); the growth rate is the Theil–Sen estimate over the window: the median of the
 * slopes between every pair of points. One burst (a 50 GB one-off export) moves a few pairwise slopes,
 * not their median, so it does not make the forecast cry wolf; a steady trend moves them all.
 */
public final class GrowthForecast {
    /** Pairwise slopes grow quadratically; the series is thinned to at most this many points. */
    static final int MAX_POINTS = 400;

    private GrowthForecast() {
    }

    /** A change of bytes in use at a time. */
    public record Event(Instant at, long deltaBytes) {
    }

    /** The arrivals and departures of a set of checkpoints (all states, history included). */
    public static List<Event> events(Collection<Registered> checkpoints) {
        List<Event> out = new ArrayList<>();
        for (Registered c : checkpoints) {
            if (c.firstSeen() != null && c.aliasOf() == null) {
                out.add(new Event(c.firstSeen(), c.bytes()));
                if ((c.state() == CheckpointState.DELETED || c.state() == CheckpointState.OFFLOADED) && c.stateSince() != null) {
                    out.add(new Event(c.stateSince(), -c.bytes()));
                }
            }
        }
        out.sort(Comparator.comparing(Event::at));
        return out;
    }

    /** Net growth in bytes per second over {@code window} before {@code now}; 0 when nothing changed. */
    public static double bytesPerSecond(List<Event> events, Instant now, Duration window) {
        Instant start = now.minus(window);
        long before = 0;
        long inWindow = 0;
        for (Event e : events) {
            if (e.at().isAfter(now)) {
                break;
            }
            if (e.at().isBefore(start)) {
                before += e.deltaBytes();
            } else {
                inWindow++;
            }
        }
        Series series = new Series(now, window, before, inWindow);
        for (Event e : events) {
            if (e.at().isAfter(now)) {
                break;
            }
            if (!e.at().isBefore(start)) {
                series.add(e.at(), e.deltaBytes());
            }
        }
        return series.bytesPerSecond();
    }

    /**
     * The usage series of one window, handed over one change at a time, keeping only the points the estimate
     * uses (at most {@link #MAX_POINTS}): a caller can stream a registry's history into it without holding it.
     * The changes before the window come as their sum, and how many fall inside it is known in advance, so the
     * series is thinned as it arrives exactly as {@link #bytesPerSecond(List, Instant, Duration)} thins it.
     */
    public static final class Series {
        private final Instant start;
        private final Duration window;
        private final long total;
        private final double step;
        private final List<double[]> kept = new ArrayList<>();
        private long level;
        private long index;
        private int nextKept;

        /**
         * @param before   the sum of the changes before the window
         * @param inWindow how many changes {@link #add} will be given (those from {@code now - window} to {@code now})
         */
        public Series(Instant now, Duration window, long before, long inWindow) {
            this.start = now.minus(window);
            this.window = window;
            this.level = before;
            this.total = inWindow == 0 ? 0 : inWindow + 2; // the level at the window's start, each change, the end
            this.step = total <= MAX_POINTS ? 1 : (total - 1) / (double) (MAX_POINTS - 1);
            if (total > 0) {
                point(0);
            }
        }

        /** The next change inside the window, in time order. */
        public void add(Instant at, long deltaBytes) {
            level += deltaBytes;
            point(Duration.between(start, at).toMillis() / 1000.0);
        }

        private boolean point(double seconds) {
            if (index++ == Math.round(nextKept * step) && kept.size() < MAX_POINTS) {
                kept.add(new double[]{seconds, level});
                nextKept++;
                return true;
            }
            return false;
        }

        /** The median of the pairwise slopes of the kept points; 0 when nothing changed in the window. */
        public double bytesPerSecond() {
            if (total == 0) {
                return 0;
            }
            double end = window.toMillis() / 1000.0;
            if (!point(end)) {
                // More or fewer changes came than announced (the registry was written meanwhile): the level at
                // the window's end is still the last point.
                if (kept.size() == MAX_POINTS) {
                    kept.remove(kept.size() - 1);
                }
                kept.add(new double[]{end, level});
            }
            return medianSlope(kept);
        }
    }

    private static double medianSlope(List<double[]> pts) {
        double[] slopes = new double[pts.size() * (pts.size() - 1) / 2];
        int n = 0;
        for (int i = 0; i < pts.size(); i++) {
            for (int j = i + 1; j < pts.size(); j++) {
                double dt = pts.get(j)[0] - pts.get(i)[0];
                if (dt > 0) {
                    slopes[n++] = (pts.get(j)[1] - pts.get(i)[1]) / dt;
                }
            }
        }
        if (n == 0) {
            return 0;
        }
        double[] s = Arrays.copyOf(slopes, n);
        Arrays.sort(s);
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /**
     * How far ahead a forecast means anything: a rate estimated over a day says nothing about a disk
     * that would take longer than this to fill, so such a disk counts as not filling.
     */
    public static final Duration HORIZON = Duration.ofDays(365);

    /**
     * Seconds until free space reaches the watermark at this growth; null when not growing, or when
     * that is further away than {@link #HORIZON} (the rate itself still says how fast it grows).
     */
    public static Double secondsUntilFull(long freeBytes, long watermarkBytes, double bytesPerSecond) {
        if (bytesPerSecond <= 0) {
            return null;
        }
        double seconds = Math.max(0, (freeBytes - watermarkBytes) / bytesPerSecond);
        return seconds > HORIZON.getSeconds() ? null : seconds;
    }

    /** How many more saves of this size fit above the watermark. */
    public static long checkpointsThatFit(long freeBytes, long watermarkBytes, long typicalBytes) {
        if (typicalBytes <= 0) {
            return 0;
        }
        return Math.max(0, (freeBytes - watermarkBytes) / typicalBytes);
    }
}
