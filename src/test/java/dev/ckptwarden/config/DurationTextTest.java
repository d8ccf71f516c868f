package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DurationTextTest {

    @ParameterizedTest
    @CsvSource({
        "90s, PT1M30S",
        "5m, PT5M",
        "6h, PT6H",
        "7d, PT168H",
        "500ms, PT0.5S",
        "1h30m, PT1H30M",
        "1h 30m, PT1H30M",
        "1.5h, PT1H30M",
        "2w, PT336H",
        "0s, PT0S",
        "PT10M, PT10M",
        "250us, PT0.00025S",
    })
    void parsesWhatPeopleWrite(String text, Duration expected) {
        assertThat(DurationText.parse(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "soon | expected a duration like 90s, 5m, 6h or 7d, got 'soon'",
        "10 | missing unit in duration '10' (add one of ms, s, m, h, d)",
        "5min | unknown unit 'min' in duration '5min' (use ms, s, m, h, d or w)",
        "-5m | a duration cannot be negative, got '-5m'",
        "5m- | expected a duration like 90s, 5m, 6h or 7d, got '5m-'",
        "PT-5M | a duration cannot be negative, got 'PT-5M'",
    })
    void rejectsWithAClearMessage(String text, String message) {
        assertThatThrownBy(() -> DurationText.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @ParameterizedTest
    @CsvSource({
        "PT1M30S, 1m30s",
        "PT168H, 7d",
        "PT0.5S, 500ms",
        "PT1H30M, 1h30m",
        "PT0S, 0s",
        "PT26H0.001S, 1d2h1ms",
        "PT-5M, -5m",
    })
    void formatsCompactly(Duration d, String expected) {
        assertThat(DurationText.format(d)).isEqualTo(expected);
    }

    @Property
    void formatThenParseIsExact(@ForAll @LongRange(min = 0, max = 1_000_000_000_000L) long seconds,
                                @ForAll @IntRange(min = 0, max = 999_999_999) int nanos) {
        Duration d = Duration.ofSeconds(seconds, nanos);
        assertThat(DurationText.parse(DurationText.format(d))).isEqualTo(d);
    }
}
