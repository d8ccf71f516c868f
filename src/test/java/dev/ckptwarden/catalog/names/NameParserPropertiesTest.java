package dev.ckptwarden.catalog.names;

import dev.ckptwarden.catalog.ParsedName;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.LongRange;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Names generated the way Lightning's {@code ModelCheckpoint.format_checkpoint_name} and Hugging Face's
 * Trainer write them, parsed back.
 */
class NameParserPropertiesTest {
    // The template round trips cost a few milliseconds a try: 250 each keeps the class within a few seconds in
    // the default test run; a search for new failures runs them with -Dckptwarden.jqwik.seed=random, more often.

    /** Lightning's join character. */
    private static final String JOIN = "-";

    /** Prefixes that would read as something else (a counter, a convention, last) are not generated. */
    private static final Pattern RESERVED_PREFIX = Pattern.compile(
            "(?i).*(epoch|step|last|ckpt|checkpoint|iter|(^|[^a-z])ep\\d|(^|[^a-z])v\\d).*");

    /** A metric name that ends in epoch or step after a non-letter names a counter (global_step, val/epoch). */
    private static final Pattern COUNTER_NAME = Pattern.compile("(?i)(.*[^\\p{L}])?(epoch|step)");

    /**
     * In the split form the part of a metric name before a '/' becomes a directory name; a directory
     * named like a checkpoint ({@code ep3}, {@code x.pt}) is rightly not taken for a split one.
     */
    private static final Pattern CHECKPOINT_LIKE_HEAD = Pattern.compile(
            "(?i).*((^|[-_./])(ep|epoch|step|iter|checkpoint)[-_]?\\d[^/]*"
                    + "|\\.(ckpt|pt|pth|bin|safetensors|h5|hdf5|keras|nemo|tar|zip|gz|tgz|distcp|index|meta|pkl|pickle"
                    + "|msgpack|npz|consolidated))/.*");

    private static final List<String> INT_SPECS = List.of("", "d", "02d", "03d", "05d");
    private static final List<String> FLOAT_SPECS = List.of("", ".2f", ".4f", ".2e", ".3e");

    /** One {@code {name:spec}} field of a Lightning filename and the value it is formatted with. */
    record Field(String name, String spec, double value) {
        boolean isCounter() {
            return name.equals("epoch") || name.equals("step");
        }

        String template() {
            return "{" + name + (spec.isEmpty() ? "" : ":" + spec) + "}";
        }

        String formatted() {
            return isCounter() ? formatInt((long) value, spec) : formatFloat(value, spec);
        }
    }

    /** A ModelCheckpoint configuration and one save: filename fields in order, prefix, version, last. */
    record LightningSave(List<Field> fields, String prefix, Integer version, boolean lastSuffix) {

        /** What format_checkpoint_name returns, with the .ckpt extension. */
        String name(boolean autoInsertMetricName) {
            List<String> parts = new ArrayList<>();
            for (Field f : fields) {
                parts.add((autoInsertMetricName ? f.name() + "=" : "") + f.formatted());
            }
            String filename = String.join(JOIN, parts);
            if (lastSuffix) {
                filename = filename + JOIN + "last";
            }
            if (!prefix.isEmpty()) {
                filename = prefix + JOIN + filename;
            }
            if (version != null) {
                filename = filename + JOIN + "v" + version;
            }
            return filename + ".ckpt";
        }

        /** The same filename as a template for {@code roots[].patterns}. */
        String template() {
            List<String> parts = new ArrayList<>();
            for (Field f : fields) {
                parts.add(f.template());
            }
            String t = String.join(JOIN, parts) + (lastSuffix ? JOIN + "last" : "");
            return prefix.isEmpty() ? t : prefix + JOIN + t;
        }
    }

    @Property // 1000 tries: the coverage checks below count NaNs and infinities drawn
    void lightningNamesRoundTrip(@ForAll("lightningSaves") LightningSave save) {
        String name = save.name(true);
        ParsedName parsed = NameParser.standard().parse(name);
        assertRoundTrip(save, name, parsed);

        for (Field f : save.fields()) {
            Statistics.label("spec").collect(f.isCounter() ? "int " + f.spec() : "float " + f.spec());
            Statistics.label("value").collect(Double.isNaN(f.value()) ? "nan" : Double.isInfinite(f.value()) ? "inf" : "finite");
        }
        Statistics.label("shape").collect(name.contains("/") ? "split" : "flat");
        Statistics.label("suffix").collect(save.version() != null ? "version" : save.lastSuffix() ? "last" : "none");
        Statistics.label("spec").coverage(c -> {
            for (String spec : INT_SPECS) {
                c.check("int " + spec).count(n -> n > 10);
            }
            for (String spec : FLOAT_SPECS) {
                c.check("float " + spec).count(n -> n > 10);
            }
        });
        Statistics.label("value").coverage(c -> {
            c.check("nan").count(n -> n > 5);
            c.check("inf").count(n -> n > 5);
        });
        Statistics.label("shape").coverage(c -> c.check("split").percentage(p -> p > 10));
        Statistics.label("suffix").coverage(c -> {
            c.check("version").percentage(p -> p > 10);
            c.check("last").percentage(p -> p > 5);
        });
    }

    @Property(tries = 250)
    void splitMetricNamesParseAcrossTheDirectory(@ForAll("lightningSavesWithSlash") LightningSave save) {
        String name = save.name(true);
        int slash = name.lastIndexOf('/');
        String dir = name.substring(0, slash);
        String file = name.substring(slash + 1);
        assertRoundTrip(save, dir + "/" + file, NameParser.standard().parse(dir + "/" + file));
        String innermostDir = dir.substring(dir.lastIndexOf('/') + 1);
        assertThat(NameParser.isSplitMetricDirectory(innermostDir, List.of(file)))
                .as("dir %s holding %s", innermostDir, file).isTrue();
    }

    @Property(tries = 250)
    void positionalNamesRoundTripThroughTheirTemplate(@ForAll("lightningSaves") LightningSave save) {
        String name = save.name(false);
        NameParser parser = NameParser.withPatterns(List.of(save.template()));
        assertRoundTrip(save, name, parser.parse(name));
    }

    @Property(tries = 250)
    void kerasNamesRoundTripThroughTheirTemplate(@ForAll("fields") List<Field> fields) {
        List<String> templateParts = new ArrayList<>();
        List<String> nameParts = new ArrayList<>();
        for (Field f : fields) {
            templateParts.add(f.template());
            nameParts.add(f.formatted());
        }
        String template = "weights." + String.join(JOIN, templateParts) + ".hdf5";
        String name = "weights." + String.join(JOIN, nameParts) + ".hdf5";
        LightningSave save = new LightningSave(fields, "", null, false);
        assertRoundTrip(save, name, NameParser.withPatterns(List.of(template)).parse(name));
    }

    @Property
    void huggingFaceCheckpointDirectories(@ForAll @LongRange(min = 0, max = 1_000_000_000_000L) long globalStep) {
        NameParser parser = NameParser.standard();
        assertThat(parser.parse("checkpoint-" + globalStep)).isEqualTo(new ParsedName(null, globalStep, Map.of(), null, false));
        assertThat(parser.parse("global_step" + globalStep).step()).isEqualTo(globalStep);
        assertThat(parser.parse("step-" + globalStep).step()).isEqualTo(globalStep);
        assertThat(parser.parse(String.format(Locale.ROOT, "iter_%07d", globalStep)).step()).isEqualTo(globalStep);
    }

    @Property
    void parseNeverThrowsAndStemNeverEmpties(@ForAll("anyNames") String name) {
        ParsedName parsed = NameParser.standard().parse(name);
        assertThat(parsed).isNotNull();
        assertThat(NameParser.stem(name)).isNotEmpty();
        assertThat(name).startsWith(NameParser.stem(name));
        NameParser.isSplitMetricDirectory(name, List.of(name));
    }

    private static void assertRoundTrip(LightningSave save, String name, ParsedName parsed) {
        Integer expectedEpoch = null;
        Long expectedStep = null;
        List<String> metricNames = new ArrayList<>();
        for (Field f : save.fields()) {
            switch (f.name()) {
                case "epoch" -> expectedEpoch = (int) f.value();
                case "step" -> expectedStep = (long) f.value();
                default -> metricNames.add(f.name());
            }
        }
        assertThat(parsed.epoch()).as("epoch of %s", name).isEqualTo(expectedEpoch);
        assertThat(parsed.step()).as("step of %s", name).isEqualTo(expectedStep);
        assertThat(parsed.version()).as("version of %s", name).isEqualTo(save.version());
        assertThat(parsed.last()).as("last of %s", name).isEqualTo(save.lastSuffix());
        assertThat(parsed.metrics().keySet()).as("metrics of %s", name).containsExactlyElementsOf(metricNames);
        for (Field f : save.fields()) {
            if (!f.isCounter()) {
                assertMetric(name, f, parsed.metrics().get(f.name()));
            }
        }
    }

    private static void assertMetric(String name, Field f, double parsed) {
        double v = f.value();
        String what = f.name() + " in " + name;
        if (Double.isNaN(v) || Double.isInfinite(v) || f.spec().isEmpty()) {
            // Boxed, so NaN equals NaN and -0.0 is told from 0.0.
            assertThat(Double.valueOf(parsed)).as(what).isEqualTo(Double.valueOf(v));
            return;
        }
        int precision = Integer.parseInt(f.spec().substring(1, f.spec().length() - 1));
        double half = 0.5 * Math.pow(10, -precision);
        if (f.spec().endsWith("f")) {
            assertThat(parsed).as(what).isCloseTo(v, within(half * 1.000001 + Math.ulp(v)));
        } else {
            assertThat(parsed).as(what).isCloseTo(v, within(half * Math.abs(v) * 1.000001 + Double.MIN_VALUE));
        }
    }

    @Provide
    Arbitrary<LightningSave> lightningSaves() {
        return saves(metricNames());
    }

    @Provide
    Arbitrary<LightningSave> lightningSavesWithSlash() {
        Arbitrary<Field> slashMetric = Combinators.combine(
                        metricNames().filter(n -> n.contains("/")), Arbitraries.of(FLOAT_SPECS), metricValues())
                .as(Field::new);
        return Combinators.combine(saves(metricNames()), slashMetric, Arbitraries.integers().between(0, 3))
                .as((save, extra, at) -> {
                    if (save.fields().stream().anyMatch(f -> f.name().equals(extra.name()))) {
                        return save;
                    }
                    List<Field> fields = new ArrayList<>(save.fields());
                    fields.add(Math.min(at, fields.size()), extra);
                    return new LightningSave(fields, save.prefix(), save.version(), save.lastSuffix());
                })
                .filter(s -> s.name(true).contains("/"));
    }

    @Provide
    Arbitrary<List<Field>> fields() {
        return fieldLists(metricNames());
    }

    private Arbitrary<LightningSave> saves(Arbitrary<String> metricNames) {
        Arbitrary<String> prefix = Arbitraries.oneOf(
                Arbitraries.of("", "", "model", "best", "deeponet", "megatron_gpt-", "sample-mnist", "tft"),
                Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(8)
                        .filter(s -> !RESERVED_PREFIX.matcher(s).matches()));
        Arbitrary<Integer> version = Arbitraries.integers().between(1, 150).injectNull(0.6);
        Arbitrary<Boolean> last = Arbitraries.of(true, false, false, false);
        return Combinators.combine(fieldLists(metricNames), prefix, version, last).as(LightningSave::new);
    }

    private Arbitrary<List<Field>> fieldLists(Arbitrary<String> metricNames) {
        Arbitrary<Field> epoch = Combinators.combine(Arbitraries.of(INT_SPECS), Arbitraries.integers().between(0, 100_000))
                .as((spec, v) -> new Field("epoch", spec, v));
        Arbitrary<Field> step = Combinators.combine(Arbitraries.of(INT_SPECS), Arbitraries.longs().between(0, 10_000_000_000L))
                .as((spec, v) -> new Field("step", spec, v));
        Arbitrary<Field> metric = Combinators.combine(metricNames, Arbitraries.of(FLOAT_SPECS), metricValues())
                .as(Field::new);
        Arbitrary<List<Field>> metrics = metric.list().ofMaxSize(3).uniqueElements(Field::name);
        return Combinators.combine(epoch.injectNull(0.3), step.injectNull(0.4), metrics, Arbitraries.randoms())
                .as((e, s, m, random) -> {
                    List<Field> all = new ArrayList<>(m);
                    if (e != null) {
                        all.add(e);
                    }
                    if (s != null) {
                        all.add(s);
                    }
                    Collections.shuffle(all, random);
                    return all;
                })
                .filter(l -> !l.isEmpty());
    }

    private Arbitrary<String> metricNames() {
        Arbitrary<String> segment = Combinators.combine(
                        Arbitraries.chars().alpha(),
                        Arbitraries.strings().withCharRange('a', 'z').withCharRange('A', 'Z').withCharRange('0', '9')
                                .withChars('_').ofMaxLength(7))
                .as((first, rest) -> first + rest);
        Arbitrary<String> generated = Combinators.combine(segment.list().ofMinSize(1).ofMaxSize(3),
                        Arbitraries.of('/', '.').list().ofSize(2))
                .as((segments, joins) -> {
                    StringBuilder sb = new StringBuilder(segments.get(0));
                    for (int i = 1; i < segments.size(); i++) {
                        sb.append(joins.get(i - 1)).append(segments.get(i));
                    }
                    return sb.toString();
                });
        return Arbitraries.oneOf(
                        Arbitraries.of("val_loss", "val/loss", "Val/Accuracy", "train_loss", "val_auroc", "lr",
                                "consumed_samples", "val.acc", "loss", "metrics/val/f1"),
                        generated)
                .filter(n -> !COUNTER_NAME.matcher(n).matches() && !CHECKPOINT_LIKE_HEAD.matcher(n).matches());
    }

    private Arbitrary<Double> metricValues() {
        Arbitrary<Double> mantissa = Arbitraries.doubles().between(1, 10).ofScale(12);
        return Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.doubles().between(-10, 10).ofScale(10)),
                Tuple.of(3, Arbitraries.doubles().between(0, 1e7).ofScale(5)),
                Tuple.of(3, Combinators.combine(mantissa, Arbitraries.integers().between(-12, -3))
                        .as((m, e) -> m * Math.pow(10, e))),
                Tuple.of(1, Combinators.combine(mantissa, Arbitraries.integers().between(15, 300), Arbitraries.of(1, -1))
                        .as((m, e, sign) -> sign * m * Math.pow(10, e))),
                Tuple.of(2, Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                        0.0, -0.0, 1e-05, 5.25e-05, 2.77e-01, -0.5, 64000.0)));
    }

    @Provide
    Arbitrary<String> anyNames() {
        Arbitrary<String> checkpointish = Arbitraries.strings()
                .withChars("epochstvlaEPOCHSTV=-_./0123456789e+na:{}<> ")
                .ofMinLength(1).ofMaxLength(300);
        Arbitrary<String> unicode = Arbitraries.strings().all().ofMinLength(1).ofMaxLength(100);
        Arbitrary<String> longRuns = Arbitraries.of("=", "1", "e", "-", "_", "a", "/", ".5", "step", "ckpt")
                .list().ofMinSize(1).ofMaxSize(400).map(l -> String.join("", l));
        return Arbitraries.oneOf(checkpointish, unicode, longRuns);
    }

    /** Python's {@code format(int, spec)} for the specs generated here. */
    static String formatInt(long v, String spec) {
        return switch (spec) {
            case "", "d" -> Long.toString(v);
            default -> String.format(Locale.ROOT, "%0" + Integer.parseInt(spec.substring(0, spec.length() - 1)) + "d", v);
        };
    }

    /** Python's {@code format(float, spec)} for the specs generated here, including nan and inf. */
    static String formatFloat(double v, String spec) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        if (spec.isEmpty()) {
            return pythonRepr(v);
        }
        // Java's %e writes at least two exponent digits, like Python.
        return String.format(Locale.ROOT, "%" + spec, v);
    }

    /** Python's {@code repr(float)}: shortest digits, exponent form below 1e-4 and from 1e16. */
    static String pythonRepr(double v) {
        String sign = (v < 0 || (v == 0 && 1 / v < 0)) ? "-" : "";
        double a = Math.abs(v);
        if (a == 0) {
            return sign + "0.0";
        }
        BigDecimal d = new BigDecimal(Double.toString(a)).stripTrailingZeros();
        String digits = d.unscaledValue().toString();
        int exponent = digits.length() - 1 - d.scale();
        if (exponent >= -4 && exponent < 16) {
            String plain = d.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(exponent));
    }
}
