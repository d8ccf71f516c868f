package dev.ckptwarden.cli;

import dev.ckptwarden.export.FilesystemForecast;
import dev.ckptwarden.policy.GrowthForecast;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@code forecast} says per filesystem: a fill beyond the one-year horizon is "not filling", with its rate. */
class ForecastSummaryTest {
    private static final long GB = 1_000_000_000L;

    private static FilesystemForecast growing(double bytesPerSecond) {
        return new FilesystemForecast("/data", 2000 * GB, 1800 * GB, 50 * GB, bytesPerSecond,
                GrowthForecast.secondsUntilFull(1800 * GB, 50 * GB, bytesPerSecond), List.of());
    }

    @Test
    void aSlowTrickleIsNotFillingAndShowsItsRate() {
        String line = ForecastCommand.summary(growing(9.0)); // ~32 KB/h: full in 6 000 years

        assertThat(line).contains("growing ").contains("/h").endsWith("not filling within 365 days")
                .doesNotContain("full in").doesNotContain("days,");
    }

    @Test
    void realGrowthSaysWhenItIsFull() {
        assertThat(ForecastCommand.summary(growing(1e6))).endsWith("full in 20 days");
    }

    @Test
    void aShrinkingOrSteadyFilesystemIsNotFilling() {
        assertThat(ForecastCommand.summary(growing(-1e6))).contains("shrinking ").endsWith(": not filling");
        assertThat(ForecastCommand.summary(growing(0))).endsWith("not growing: not filling");
    }
}
