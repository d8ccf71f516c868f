package dev.ckptwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Reasons read the way the configuration and checkpoint names are written. */
class ReasonTest {

    @Test
    void metricValuesReadAsWritten() {
        assertThat(Reason.number(0.1234)).isEqualTo("0.1234");
        assertThat(Reason.number(2.0)).isEqualTo("2");
        assertThat(Reason.number(-0.5)).isEqualTo("-0.5");
        assertThat(Reason.number(0.277)).isEqualTo("0.277");
        assertThat(Reason.number(1e-05)).isEqualTo("1e-5");
        assertThat(Reason.number(5.25e-05)).isEqualTo("5.25e-5");
        assertThat(Reason.number(0.0)).isEqualTo("0");
        assertThat(Reason.number(Double.NaN)).isEqualTo("nan");
        assertThat(Reason.number(Double.NEGATIVE_INFINITY)).isEqualTo("-inf");
    }

    @Test
    void durationsReadInConfigurationUnits() {
        assertThat(Reason.duration(Duration.ofHours(24))).isEqualTo("24h");
        assertThat(Reason.duration(Duration.ofDays(7))).isEqualTo("7d");
        assertThat(Reason.duration(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(Reason.duration(Duration.ofMinutes(5))).isEqualTo("5m");
        assertThat(Reason.duration(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(Reason.duration(Duration.ZERO)).isEqualTo("0s");
    }

    @Test
    void pressureTierAndBestRankComeFromTheReasonNotItsWords() {
        // A keep_best metric named like another rule's words ("keep_last 1/3") must not change the tier or rank:
        // both travel as values, the text is only what plan prints.
        Reason best = Reason.keepBest(2, 3, "keep_last", 0.1);
        assertThat(best.rule()).isEqualTo(Reason.Rule.KEEP_BEST);
        assertThat(best.rank()).isEqualTo(2);
        assertThat(best.text()).isEqualTo("keep_best 2/3 keep_last=0.1");
        assertThat(Reason.keepLast(1, 3).rule().tier()).isEqualTo("keep_last");
        assertThat(Reason.protection("newest complete").isProtection()).isTrue();
        assertThat(Reason.protection("newest complete").text()).isEqualTo("protected: newest complete");
        assertThat(Reason.pressure("protected: by name only").isProtection()).isFalse();
    }
}
