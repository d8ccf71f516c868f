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
        List<double[]> points = new ArrayList<>();
        long level = 0;
        for (Event e : events) {
            if (e.at().isAfter(now)) {
                break;
            }
            if (e.at().isBefore(start)) {
                level += e.deltaBytes();
                continue;
            }
            if (points.isEmpty()) {
                points.add(new double[]{0, level});
            }
            level += e.deltaBytes();
            points.add(new double[]{Duration.between(start, e.at()).toMillis() / 1000.0, level});
        }
        if (points.isEmpty()) {
            return 0;
        }
        points.add(new double[]{window.toMillis() / 1000.0, level});
        List<double[]> pts = thin(points);
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

    private static List<double[]> thin(List<double[]> points) {
        if (points.size() <= MAX_POINTS) {
            return points;
        }
        List<double[]> out = new ArrayList<>(MAX_POINTS);
        double step = (points.size() - 1) / (double) (MAX_POINTS - 1);
        for (int i = 0; i < MAX_POINTS; i++) {
            out.add(points.get((int) Math.round(i * step)));
        }
        return out;
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
