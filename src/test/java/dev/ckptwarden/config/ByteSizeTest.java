package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ByteSizeTest {

    @ParameterizedTest
    @CsvSource({
        "500GiB, 536870912000",
        "6.9GB, 6900000000",
        "1048576, 1048576",
        "64MiB, 67108864",
        "1.5TB, 1500000000000",
        "100 GiB, 107374182400",
        "512mib, 536870912",
        "2Gi, 2147483648",
        "900B, 900",
        "0, 0",
        "1.5KiB, 1536",
        "0.5B0, -1",
    })
    void parsesWhatPeopleWrite(String text, long expected) {
        if (expected < 0) {
            assertThatThrownBy(() -> ByteSize.parse(text)).isInstanceOf(IllegalArgumentException.class);
        } else {
            assertThat(ByteSize.parse(text)).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "lots | expected a size like 500GiB, got 'lots'",
        "'' | expected a size like 500GiB, got ''",
        "500G | ambiguous unit 'G' in '500G': write 500GB (powers of 1000) or 500GiB (powers of 1024)",
        "5XB | unknown unit 'XB' in '5XB' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)",
        "-5GB | a size cannot be negative, got '-5GB'",
        "1.5 | a byte count must be a whole number, got '1.5'",
        "9EiB | size '9EiB' is too large (the limit is 8 EiB)",
    })
    void rejectsWithAClearMessage(String text, String message) {
        assertThatThrownBy(() -> ByteSize.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @ParameterizedTest
    @CsvSource({
        "900, 900 B",
        "0, 0 B",
        "1023, 1023 B",
        "1024, 1 KiB",
        "536870912, 512 MiB",
        "7408686694, 6.9 GiB",
        "6900000000, 6.4 GiB",
        "1048575, 1 MiB",
        "1610612736, 1.5 GiB",
        "-2048, -2 KiB",
        "9223372036854775807, 8 EiB",
    })
    void formatsForHumans(long bytes, String expected) {
        assertThat(ByteSize.format(bytes)).isEqualTo(expected);
    }

    @Property
    void formatThenParseIsWithinRounding(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long bytes) {
        long back = ByteSize.parse(ByteSize.format(bytes).replace(" ", ""));
        // one decimal in the largest unit below the value: at most 0.05 of that unit, i.e. 5 % of the value
        assertThat((double) Math.abs(back - bytes)).isLessThanOrEqualTo(Math.max(0.0, bytes * 0.05));
        if (bytes < 1024) {
            assertThat(back).isEqualTo(bytes);
        }
    }

    @Property
    void wholeNumbersOfAUnitRoundTripExactly(@ForAll @LongRange(min = 1, max = 1023) long n,
                                             @ForAll @IntRange(min = 1, max = 5) int unit) {
        long bytes = n << (10 * unit);
        assertThat(ByteSize.parse(ByteSize.format(bytes).replace(" ", ""))).isEqualTo(bytes);
    }

    /** The formatting as it was written with String.format; the integer version must print the same. */
    private static String withFormatter(long bytes) {
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int unit = 0;
        double value = bytes / 1024.0;
        while (true) {
            double tenths = Math.round(value * 10) / 10.0;
            if (tenths >= 1024 && unit < units.length - 1) {
                value /= 1024;
                unit++;
                continue;
            }
            return (tenths == Math.rint(tenths) ? Long.toString((long) tenths)
                    : String.format(java.util.Locale.ROOT, "%.1f", tenths)) + " " + units[unit];
        }
    }

    @Property
    void printsWhatTheFormatterPrinted(@ForAll @LongRange(min = 1024, max = Long.MAX_VALUE) long bytes,
                                       @ForAll @IntRange(min = 0, max = 60) int shift) {
        long b = Math.max(1024, bytes >>> shift);
        assertThat(ByteSize.format(b)).isEqualTo(withFormatter(b));
    }
}
