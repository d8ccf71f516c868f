package dev.ckptwarden.policy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class GrowthForecastTest {
    private static final Instant NOW = Instant.parse("2026-01-02T00:00:00Z");
    private static final long GB = 1_000_000_000L;

    /** The incident: 6.9 GB every hour. */
    private static List<GrowthForecast.Event> hourlySaves(int hours) {
        List<GrowthForecast.Event> e = new ArrayList<>();
        for (int h = hours; h >= 1; h--) {
            e.add(new GrowthForecast.Event(NOW.minus(Duration.ofHours(h)), 6_900_000_000L));
        }
        return e;
    }

    @Test
    void steadySavesGiveTheirRate() {
        double rate = GrowthForecast.bytesPerSecond(hourlySaves(20), NOW, Duration.ofHours(24));
        assertThat(rate).isCloseTo(6.9e9 / 3600, within(6.9e9 / 3600 * 0.15));
    }

    @Test
    void oneBurstDoesNotDominateTheEstimate() {
        List<GrowthForecast.Event> e = hourlySaves(20);
        e.add(new GrowthForecast.Event(NOW.minus(Duration.ofMinutes(90)), 500 * GB));
        e.sort(java.util.Comparator.comparing(GrowthForecast.Event::at));
        double rate = GrowthForecast.bytesPerSecond(e, NOW, Duration.ofHours(24));
        // A least-squares fit would more than triple; the median of pairwise slopes barely moves.
        assertThat(rate).isLessThan(6.9e9 / 3600 * 1.5);
    }

    @Test
    void retentionInSteadyStateIsNotGrowth() {
        List<GrowthForecast.Event> e = new ArrayList<>();
        for (int h = 20; h >= 1; h--) {
            e.add(new GrowthForecast.Event(NOW.minus(Duration.ofHours(h)), 7 * GB));
            e.add(new GrowthForecast.Event(NOW.minus(Duration.ofHours(h)).plusSeconds(30), -7 * GB));
        }
        assertThat(GrowthForecast.bytesPerSecond(e, NOW, Duration.ofHours(24))).isCloseTo(0, within(1e3));
        assertThat(GrowthForecast.secondsUntilFull(100 * GB, 50 * GB, 0)).isNull();
    }

    @Test
    void timeUntilFullAndSavesThatFit() {
        assertThat(GrowthForecast.secondsUntilFull(1800 * GB, 50 * GB, 1e6)).isCloseTo(1.75e6, within(1.0));
        assertThat(GrowthForecast.checkpointsThatFit(100 * GB, 50 * GB, 6_900_000_000L)).isEqualTo(7);
        assertThat(GrowthForecast.checkpointsThatFit(10 * GB, 50 * GB, 6_900_000_000L)).isZero();
    }

    /** A few KiB a day on a mostly empty disk is no forecast: "full in 2251107 days" helped nobody. */
    @Test
    void growthThatWouldTakeMoreThanAYearIsNotFilling() {
        assertThat(GrowthForecast.secondsUntilFull(1800 * GB, 50 * GB, 9.0)).isNull();
        long justUnderAYear = GrowthForecast.HORIZON.getSeconds() - 60;
        assertThat(GrowthForecast.secondsUntilFull(justUnderAYear * 1000L, 0, 1000.0))
                .isCloseTo(justUnderAYear, within(1.0));
    }

    /**
     * The forecast streams the registry's history through a {@link GrowthForecast.Series} instead of holding it:
     * on a long history (thinned), with changes before the window, after now and many at one instant (a first
     * pass stamps every checkpoint with its own time), the estimate is the one of the whole list, thinned to
     * {@link GrowthForecast#MAX_POINTS} by index as it always was.
     */
    @Test
    void aStreamedSeriesGivesTheEstimateOfTheWholeList() {
        java.util.Random random = new java.util.Random(17);
        Duration window = Duration.ofHours(24);
        for (int round = 0; round < 20; round++) {
            List<GrowthForecast.Event> e = new ArrayList<>();
            int n = 1 + random.nextInt(round < 10 ? 600 : 5000);
            for (int i = 0; i < n; i++) {
                // Some before the window, some after now, many on a few instants.
                long minutes = random.nextInt(4) == 0 ? 60L * random.nextInt(4) : random.nextInt(30 * 60);
                Instant at = NOW.minus(Duration.ofMinutes(minutes)).plus(Duration.ofMinutes(random.nextInt(20) == 0 ? 90 : 0));
                e.add(new GrowthForecast.Event(at, (random.nextBoolean() ? 1 : -1) * (1 + random.nextInt(1_000_000))));
            }
            e.sort(java.util.Comparator.comparing(GrowthForecast.Event::at));

            assertThat(GrowthForecast.bytesPerSecond(e, NOW, window)).as("round %d, %d changes", round, n)
                    .isEqualTo(wholeListEstimate(e, NOW, window));
        }
    }

    /** The estimate as it was computed before it streamed: every point in a list, thinned by index, then the median. */
    private static double wholeListEstimate(List<GrowthForecast.Event> events, Instant now, Duration window) {
        Instant start = now.minus(window);
        List<double[]> points = new ArrayList<>();
        long level = 0;
        for (GrowthForecast.Event e : events) {
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
        List<double[]> pts = points;
        if (points.size() > GrowthForecast.MAX_POINTS) {
            pts = new ArrayList<>();
            double step = (points.size() - 1) / (double) (GrowthForecast.MAX_POINTS - 1);
            for (int i = 0; i < GrowthForecast.MAX_POINTS; i++) {
                pts.add(points.get((int) Math.round(i * step)));
            }
        }
        List<Double> slopes = new ArrayList<>();
        for (int i = 0; i < pts.size(); i++) {
            for (int j = i + 1; j < pts.size(); j++) {
                double dt = pts.get(j)[0] - pts.get(i)[0];
                if (dt > 0) {
                    slopes.add((pts.get(j)[1] - pts.get(i)[1]) / dt);
                }
            }
        }
        if (slopes.isEmpty()) {
            return 0;
        }
        java.util.Collections.sort(slopes);
        int m = slopes.size();
        return m % 2 == 1 ? slopes.get(m / 2) : (slopes.get(m / 2 - 1) + slopes.get(m / 2)) / 2;
    }
}
