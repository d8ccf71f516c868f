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
}
