package dev.ckptwarden.registry;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.format.DateTimeParseException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InstantTextTest {

    // 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the range where text order must be time order.
    private static final long FIRST = -62_167_219_200L;
    private static final long LAST = 253_402_300_799L;

    @Property
    void roundTripsExactlyAndSortsAsTime(@ForAll @LongRange(min = FIRST, max = LAST) long secondsA,
                                         @ForAll @LongRange(min = 0, max = 999_999_999) long nanoA,
                                         @ForAll @LongRange(min = FIRST, max = LAST) long secondsB,
                                         @ForAll @LongRange(min = 0, max = 999_999_999) long nanoB) {
        Instant a = Instant.ofEpochSecond(secondsA, nanoA);
        Instant b = Instant.ofEpochSecond(secondsB, nanoB);

        String textA = InstantText.format(a);
        String textB = InstantText.format(b);

        assertThat(InstantText.parse(textA)).isEqualTo(a);
        assertThat(textA).hasSize(30);
        assertThat(Integer.signum(textA.compareTo(textB))).isEqualTo(Integer.signum(a.compareTo(b)));
    }

    @Test
    void writesNineFractionDigitsAlways() {
        assertThat(InstantText.format(Instant.parse("2024-01-09T10:00:00Z"))).isEqualTo("2024-01-09T10:00:00.000000000Z");
        assertThat(InstantText.format(Instant.parse("1970-01-01T00:00:00.5Z"))).isEqualTo("1970-01-01T00:00:00.500000000Z");
    }

    @Test
    void yearsOutsideFourDigitsStillRoundTrip() {
        for (Instant extreme : new Instant[]{Instant.MIN, Instant.MAX, Instant.parse("-0001-12-31T23:59:59.999999999Z"),
                Instant.parse("+10000-01-01T00:00:00Z")}) {
            assertThat(InstantText.parse(InstantText.format(extreme))).isEqualTo(extreme);
        }
    }

    @Test
    void aDamagedValueIsRefusedNotMisread() {
        assertThatThrownBy(() -> InstantText.parse("2024-02-30T10:00:00.000000000Z"))
                .isInstanceOf(DateTimeParseException.class);
        assertThatThrownBy(() -> InstantText.parse("2024-13-09T10:00:00.000000000Z"))
                .isInstanceOf(DateTimeParseException.class);
        assertThatThrownBy(() -> InstantText.parse("2024-01-09T10:0x:00.000000000Z"))
                .isInstanceOf(DateTimeParseException.class);
        assertThat(InstantText.parse("2024-01-09T10:00:00Z")).isEqualTo(Instant.parse("2024-01-09T10:00:00Z"));
    }
}
