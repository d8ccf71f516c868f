package dev.ckptwarden.catalog.names;

import dev.ckptwarden.catalog.ParsedName;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses checkpoint names into {@link ParsedName}. Thread-safe, immutable.
 *
 * <p>Rules, in order of authority:
 * <ol>
 * <li>Configured templates ({@code roots[].patterns}): the first that matches the whole name, its
 *     stem, or its stem without the version suffix decides epoch, step and metrics.</li>
 * <li>{@code key=value} fields as Lightning and NeMo write them ({@code epoch=03-step=001500},
 *     {@code val/loss=2.77e-01}, {@code best_20231231_epoch=02}): a key that is, or ends after a
 *     non-letter in, {@code epoch}/{@code step} gives the epoch/step; every other key a metric.
 *     Metric names may contain '.' and '/'; a value must be a number that ends the field.</li>
 * <li>Framework conventions, only where rule 2 left the epoch or step open, and never inside a
 *     {@code key=value} field: {@code checkpoint-N} / {@code checkpoint_N} (Hugging Face, Flax),
 *     {@code step-N} / {@code step_N} / {@code global_stepN} / {@code -STEP-N} anywhere after a
 *     separator (DeepSpeed, NeMo, torchtitan), {@code iter_N} (Megatron), {@code epN-baM} and
 *     {@code epN} (Composer), {@code epoch_N} / {@code epochN}, TensorFlow {@code prefix-N} when the
 *     name is a TensorFlow file ({@code .index}, {@code .data-…}, {@code .meta}) or ends in
 *     {@code ckpt-N}, and a bare integer of up to 12 digits (Orbax step directories).</li>
 * </ol>
 * A bare number without a key ({@code 00-nan.ckpt}, {@code 70-978592.125.ckpt}) gives nothing:
 * without a template it cannot be told whether it is an epoch, a step or a metric.
 * Version is Lightning's {@code -vN} suffix (also the older {@code _vN} after a field value);
 * {@code last} is set for names that are or start with the word {@code last} ({@code last.ckpt},
 * {@code last-v1.ckpt}, {@code last_bs8.ckpt}) or end in {@code -last} / {@code _last}.
 *
 * <p>A name containing '/' is read as one Lightning name relative to the run directory: a metric
 * name with '/' makes Lightning write {@code epoch=1-val/loss=0.12.ckpt} as directory
 * {@code epoch=1-val} holding {@code loss=0.12.ckpt}.
 */
public final class NameParser {

    /** Extensions and suffixes a checkpoint's files carry; stripped repeatedly from the end. */
    private static final Pattern SUFFIX = Pattern.compile(
            "(?i)(?:\\.(?:ckpt|pt|pth|bin|safetensors|h5|hdf5|keras|nemo|tar|zip|gz|tgz|distcp|index|meta|pkl|pickle"
                    + "|msgpack|npz|consolidated|data-\\d+-of-\\d+)|\\.orbax-checkpoint-tmp-\\d+)$");

    private static final Pattern TENSORFLOW_FILE = Pattern.compile("(?i)\\.(?:index|meta|data-\\d+-of-\\d+)$");

    private static final Pattern DASH_VERSION = Pattern.compile("-v(\\d{1,9})$");
    private static final Pattern UNDERSCORE_VERSION = Pattern.compile("_v(\\d{1,9})$");

    private static final Pattern LAST_START = Pattern.compile("(?i)^last(?!\\p{L})");
    private static final Pattern LAST_END = Pattern.compile("(?i)[-_]last$");

    /** Counters written by framework convention; group 1 is the number. Case-insensitive: NeMo 0.x writes {@code -STEP-}. */
    private static final List<Pattern> STEP_CONVENTIONS = List.of(
            Pattern.compile("(?i)^checkpoint[-_](\\d+)(?=$|[-_.])"),
            Pattern.compile("(?i)(?:^|[-_.])step[-_]?(\\d+)(?=$|[-_.])"),
            Pattern.compile("(?i)(?:^|[-_.])iter[-_]?(\\d+)(?=$|[-_.])"),
            Pattern.compile("(?i)(?:^|[-_.])ep\\d+[-_]ba(\\d+)(?=$|[-_.])"),
            Pattern.compile("(?i)(?:^|[._])ckpt-(\\d+)$"),
            Pattern.compile("^(\\d{1,12})$"));
    private static final Pattern TENSORFLOW_STEP = Pattern.compile("-(\\d+)$");
    private static final List<Pattern> EPOCH_CONVENTIONS = List.of(
            Pattern.compile("(?i)(?:^|[-_.])ep(\\d+)(?=$|[-_.])"),
            Pattern.compile("(?i)(?:^|[-_.])epoch[-_]?(\\d+)(?=$|[-_.])"));

    /** The last field of a split directory name: the first half of a metric name, like {@code val} of {@code val/loss}. */
    private static final Pattern METRIC_HEAD = Pattern.compile("[\\p{L}_][\\p{L}\\p{N}_.]*");

    private static final NameParser STANDARD = new NameParser(List.of());

    private final List<NameTemplate> templates;

    private NameParser(List<NameTemplate> templates) {
        this.templates = templates;
    }

    /** A parser with the built-in rules only. */
    public static NameParser standard() {
        return STANDARD;
    }

    /**
     * A parser that tries {@code templates} (a root's {@code patterns}, in order) before the built-in rules.
     *
     * @throws NamePatternException when a template is empty, malformed, or uses a format it cannot read back
     */
    public static NameParser withPatterns(List<String> templates) {
        if (templates == null || templates.isEmpty()) {
            return STANDARD;
        }
        List<NameTemplate> compiled = new ArrayList<>(templates.size());
        for (String t : templates) {
            compiled.add(NameTemplate.compile(t));
        }
        return new NameParser(List.copyOf(compiled));
    }

    /** What {@code name} says; {@link ParsedName#EMPTY} when nothing. Never throws. */
    public ParsedName parse(String name) {
        if (name == null || name.isEmpty()) {
            return ParsedName.EMPTY;
        }
        String stem = stem(name);
        Versioned versioned = Versioned.of(stem);
        List<KeyValueToken> tokens = KeyValueToken.scan(versioned.base());
        // Read outside key=value fields, so a metric named last_x does not make a name "last".
        String masked = lastSegment(mask(versioned.base(), tokens));
        boolean last = isLast(masked);
        for (NameTemplate template : templates) {
            Optional<ParsedName> matched = matchTemplate(template, name, stem, versioned);
            if (matched.isPresent()) {
                ParsedName p = matched.get();
                return new ParsedName(p.epoch(), p.step(), p.metrics(), p.version(), last);
            }
        }
        return builtIn(name, versioned, tokens, masked, last);
    }

    /**
     * True when a sub-directory of a run directory is really the first half of Lightning names whose
     * metric name contains '/': dir {@code epoch=1-val} (or {@code val}) holding {@code loss=0.12.ckpt},
     * written for filename {@code {epoch}-{val/loss:.2f}}.
     *
     * <p>The directory name must end in a bare name part (no value) after any {@code key=value}
     * fields, must not itself be a checkpoint name by convention ({@code global_step100}), and every
     * checkpoint file inside must start with a metric field. A run directory that holds
     * {@code last.ckpt} or {@code epoch=...} names next to metric-first names is therefore not one.
     */
    public static boolean isSplitMetricDirectory(String dirName, Collection<String> checkpointFileNamesInside) {
        if (dirName == null || dirName.isEmpty() || dirName.contains("/")
                || checkpointFileNamesInside == null || checkpointFileNamesInside.isEmpty()
                || !stem(dirName).equals(dirName)) {
            return false;
        }
        List<KeyValueToken> tokens = KeyValueToken.scan(dirName);
        int tailStart = tokens.isEmpty() ? 0 : tokens.get(tokens.size() - 1).nextKeyFloor(dirName);
        String tail = dirName.substring(tailStart);
        String head = tail.substring(tail.lastIndexOf('-') + 1);
        if (!METRIC_HEAD.matcher(head).matches() || !conventionalCounters(mask(dirName, tokens), false).isEmpty()) {
            return false;
        }
        for (String file : checkpointFileNamesInside) {
            if (file == null || file.contains("/")) {
                return false;
            }
            String base = Versioned.of(stem(file)).base();
            List<KeyValueToken> fileTokens = KeyValueToken.scan(base);
            if (fileTokens.isEmpty() || fileTokens.get(0).start() != 0
                    || KeyValueToken.meaningOf(head + "/" + fileTokens.get(0).key()) != KeyValueToken.Meaning.METRIC) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code name} without the extensions and suffixes checkpoint files carry: {@code .ckpt .pt .pth
     * .bin .safetensors .h5 .hdf5 .keras .nemo .tar .zip .gz .distcp .index .meta .data-00000-of-00002
     * .consolidated .orbax-checkpoint-tmp-N} and a few more, stripped repeatedly
     * ({@code cp.ckpt.index} gives {@code cp}). Never returns an empty string for a non-empty name.
     */
    public static String stem(String name) {
        if (name == null) {
            return "";
        }
        String s = name;
        Matcher m = SUFFIX.matcher(s);
        while (m.find() && m.start() > 0 && s.charAt(m.start() - 1) != '/') {
            s = s.substring(0, m.start());
            m = SUFFIX.matcher(s);
        }
        return s;
    }

    private static Optional<ParsedName> matchTemplate(NameTemplate template, String name, String stem, Versioned versioned) {
        List<String> candidates = new ArrayList<>(List.of(name, stem));
        if (name.contains("/")) {
            String lastSegment = lastSegment(name);
            candidates.add(lastSegment);
            candidates.add(stem(lastSegment));
        }
        for (String candidate : candidates) {
            Optional<ParsedName> p = template.match(candidate);
            if (p.isPresent()) {
                return p;
            }
        }
        if (versioned.version() != null) {
            return template.match(versioned.base()).map(p ->
                    new ParsedName(p.epoch(), p.step(), p.metrics(), versioned.version(), false))
                    .or(() -> template.match(lastSegment(versioned.base())).map(p ->
                            new ParsedName(p.epoch(), p.step(), p.metrics(), versioned.version(), false)));
        }
        return Optional.empty();
    }

    private static ParsedName builtIn(String name, Versioned versioned, List<KeyValueToken> tokens, String masked,
                                      boolean last) {
        Integer epoch = null;
        Long step = null;
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (KeyValueToken t : tokens) {
            switch (t.meaning()) {
                case EPOCH -> {
                    long v = PythonNumber.toCounter(t.value(), Integer.MAX_VALUE);
                    if (v >= 0 && epoch == null) {
                        epoch = (int) v;
                        continue;
                    }
                }
                case STEP -> {
                    long v = PythonNumber.toCounter(t.value(), Long.MAX_VALUE);
                    if (v >= 0 && step == null) {
                        step = v;
                        continue;
                    }
                }
                case METRIC -> {
                }
            }
            // A counter key with a value that is no counter (epoch=1.5, a second step=) is kept as a metric, not lost.
            metrics.putIfAbsent(t.key(), PythonNumber.toDouble(t.value()));
        }
        if (epoch == null || step == null) {
            boolean tensorflow = TENSORFLOW_FILE.matcher(lastSegment(name)).find();
            Counters c = conventionalCounters(masked, tensorflow);
            if (epoch == null && c.epoch() != null) {
                epoch = c.epoch();
            }
            if (step == null && c.step() != null) {
                step = c.step();
            }
        }
        return new ParsedName(epoch, step, metrics, versioned.version(), last);
    }

    private record Counters(Integer epoch, Long step) {
        boolean isEmpty() {
            return epoch == null && step == null;
        }
    }

    private static Counters conventionalCounters(String text, boolean tensorflowFile) {
        Long step = null;
        for (Pattern p : STEP_CONVENTIONS) {
            step = firstCounter(p, text, Long.MAX_VALUE);
            if (step != null) {
                break;
            }
        }
        if (step == null && tensorflowFile) {
            step = firstCounter(TENSORFLOW_STEP, text, Long.MAX_VALUE);
        }
        Long epoch = null;
        for (Pattern p : EPOCH_CONVENTIONS) {
            epoch = firstCounter(p, text, Integer.MAX_VALUE);
            if (epoch != null) {
                break;
            }
        }
        return new Counters(epoch == null ? null : epoch.intValue(), step);
    }

    private static Long firstCounter(Pattern p, String text, long max) {
        Matcher m = p.matcher(text);
        while (m.find()) {
            long v = PythonNumber.toCounter(m.group(1), max);
            if (v >= 0) {
                return v;
            }
        }
        return null;
    }

    /** {@code text} with every {@code key=value} field blanked, so conventions never read inside one ({@code x_ep3=0.5}). */
    private static String mask(String text, List<KeyValueToken> tokens) {
        if (tokens.isEmpty()) {
            return text;
        }
        char[] chars = text.toCharArray();
        for (KeyValueToken t : tokens) {
            for (int i = t.start(); i < t.end(); i++) {
                chars[i] = ' ';
            }
        }
        return new String(chars);
    }

    private static boolean isLast(String base) {
        return LAST_START.matcher(base).find() || LAST_END.matcher(base).find();
    }

    private static String lastSegment(String s) {
        return s.substring(s.lastIndexOf('/') + 1);
    }

    /** A stem split into its base and Lightning's duplicate-name version suffix. */
    private record Versioned(String base, Integer version) {

        static Versioned of(String stem) {
            Matcher dash = DASH_VERSION.matcher(stem);
            if (dash.find() && dash.start() > 0) {
                return new Versioned(stem.substring(0, dash.start()), Integer.valueOf(dash.group(1)));
            }
            // Lightning before 1.1 joined the version with '_' (epoch=0_v2.ckpt); only trusted right
            // after a field value, so a model named model_v2 keeps its name.
            Matcher underscore = UNDERSCORE_VERSION.matcher(stem);
            if (underscore.find() && underscore.start() > 0) {
                String base = stem.substring(0, underscore.start());
                List<KeyValueToken> tokens = KeyValueToken.scan(base);
                if (!tokens.isEmpty() && tokens.get(tokens.size() - 1).end() == base.length()) {
                    return new Versioned(base, Integer.valueOf(underscore.group(1)));
                }
            }
            return new Versioned(stem, null);
        }
    }
}
