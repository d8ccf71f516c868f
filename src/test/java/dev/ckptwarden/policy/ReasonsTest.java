package dev.ckptwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Reasons read the way the configuration and checkpoint names are written. */
class ReasonsTest {

    @Test
    void metricValuesReadAsWritten() {
        assertThat(Reasons.number(0.1234)).isEqualTo("0.1234");
        assertThat(Reasons.number(2.0)).isEqualTo("2");
        assertThat(Reasons.number(-0.5)).isEqualTo("-0.5");
        assertThat(Reasons.number(0.277)).isEqualTo("0.277");
        assertThat(Reasons.number(1e-05)).isEqualTo("1e-5");
        assertThat(Reasons.number(5.25e-05)).isEqualTo("5.25e-5");
        assertThat(Reasons.number(0.0)).isEqualTo("0");
        assertThat(Reasons.number(Double.NaN)).isEqualTo("nan");
        assertThat(Reasons.number(Double.NEGATIVE_INFINITY)).isEqualTo("-inf");
    }

    @Test
    void durationsReadInConfigurationUnits() {
        assertThat(Reasons.duration(Duration.ofHours(24))).isEqualTo("24h");
        assertThat(Reasons.duration(Duration.ofDays(7))).isEqualTo("7d");
        assertThat(Reasons.duration(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(Reasons.duration(Duration.ofMinutes(5))).isEqualTo("5m");
        assertThat(Reasons.duration(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(Reasons.duration(Duration.ZERO)).isEqualTo("0s");
    }

    @Test
    void tiersAndRanksAreReadBackFromReasons() {
        assertThat(Reasons.ruleTier("keep_best 2/3 val_loss=0.1")).isEqualTo("keep_best");
        assertThat(Reasons.keepBestRank("keep_best 2/3 val_loss=0.1")).isEqualTo(2);
        assertThat(Reasons.ruleTier("milestone step 10000")).isEqualTo("milestone");
        assertThat(Reasons.ruleTier("keep_lastly")).isNull();
        assertThat(Reasons.ruleTier("protected: newest complete")).isNull();
        assertThat(Reasons.keepBestRank("keep_last 1/3")).isEqualTo(-1);
    }
}
