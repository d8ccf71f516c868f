package dev.ckptwarden.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class MetricsJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Provide
    Arbitrary<Map<String, Double>> metrics() {
        Arbitrary<Double> values = Arbitraries.oneOf(Arbitraries.doubles(),
                Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0,
                        Double.MIN_VALUE, Double.MAX_VALUE, 1e-05, 3.0, 1e22),
                Arbitraries.longs().map(Long::doubleValue));
        // Keys: any text, including quotes, backslashes, control characters and non-ASCII.
        Arbitrary<String> keys = Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(12),
                Arbitraries.strings().withChars("ab\"\\/\n\u0001é☃").ofMaxLength(6));
        return Arbitraries.maps(keys, values).ofMaxSize(6);
    }

    @Property
    void whatIsWrittenReadsBackBitForBit(@ForAll("metrics") Map<String, Double> metrics) {
        String stored = MetricsJson.toNode(metrics).toString();

        Map<String, Double> back = assertDoesNotThrow(stored);

        assertThat(back).containsOnlyKeys(metrics.keySet());
        metrics.forEach((k, v) -> assertThat(Double.doubleToRawLongBits(back.get(k)))
                .as("%s in %s", k, stored).isEqualTo(Double.doubleToRawLongBits(v)));
    }

    @Property
    void readsExactlyWhatAJacksonTreeReads(@ForAll("texts") String stored) throws Exception {
        Map<String, Double> expected;
        try {
            expected = MetricsJson.fromNode(JSON.readTree(stored));
        } catch (Exception rejected) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> MetricsJson.parse(stored)).as(stored)
                    .isInstanceOfAny(Exception.class);
            return;
        }
        Map<String, Double> actual = MetricsJson.parse(stored);
        assertThat(actual).as(stored).containsOnlyKeys(expected.keySet());
        expected.forEach((k, v) -> assertThat(Double.doubleToRawLongBits(actual.get(k))).as("%s in %s", k, stored)
                .isEqualTo(Double.doubleToRawLongBits(v)));
    }

    /** Texts near the stored shape: numbers of every JSON (and non-JSON) spelling, spaces, odd strings, repeats. */
    @Provide
    Arbitrary<String> texts() {
        Arbitrary<String> number = Arbitraries.of("0", "-0", "-0.0", "0.5", "1.0E-5", "1e5", "1E+2", "01", "1.", ".5",
                "+1", "1e", "-", "3", "12345678901234567890", "1.7976931348623157E309", "NaN", "\"NaN\"",
                "\"Infinity\"", "\"-Infinity\"", "\"inf\"", "true", "null", "[1]", "{}", "0.1234");
        Arbitrary<String> key = Arbitraries.of("\"a\"", "\"b\"", "\"a\"", "\"\"", "\"x\\\"y\"", "\"\\u0041\"", "a", "\"é\"");
        Arbitrary<String> pair = net.jqwik.api.Combinators.combine(key, Arbitraries.of(":", " : ", ": "), number)
                .as((k, colon, v) -> k + colon + v);
        return pair.list().ofMaxSize(4).flatMap(pairs -> Arbitraries.of(",", ", ").map(sep ->
                "{" + String.join(sep, pairs) + "}"))
                .flatMap(s -> Arbitraries.of(s, " " + s, s.replace("{", "[")));
    }

    private static Map<String, Double> assertDoesNotThrow(String stored) {
        try {
            return MetricsJson.parse(stored);
        } catch (Exception e) {
            throw new AssertionError("cannot read back " + stored, e);
        }
    }
}
