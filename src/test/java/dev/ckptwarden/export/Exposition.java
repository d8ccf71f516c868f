package dev.ckptwarden.export;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A parsed Prometheus text exposition (format 0.0.4, and the OpenMetrics text that shares its sample
 * syntax): the declared type of each family and every sample with its labels, so tests assert the
 * names a scraper really sees rather than Micrometer's meter names.
 */
final class Exposition {
    /** One sample line. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    final Map<String, String> types = new LinkedHashMap<>();
    final List<Sample> samples = new ArrayList<>();

    static Exposition parse(String text) {
        Exposition e = new Exposition();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] p = line.substring(7).split(" ");
                e.types.put(p[0], p[1]);
                continue;
            }
            if (line.startsWith("#")) {
                continue;
            }
            e.samples.add(sample(line));
        }
        return e;
    }

    private static Sample sample(String line) {
        int brace = line.indexOf('{');
        int space;
        String name;
        Map<String, String> labels = new LinkedHashMap<>();
        if (brace >= 0 && brace < line.indexOf(' ')) {
            name = line.substring(0, brace);
            int i = brace + 1;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String key = line.substring(i, eq);
                StringBuilder value = new StringBuilder();
                int j = eq + 2; // skip ="
                while (line.charAt(j) != '"') {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char next = line.charAt(++j);
                        value.append(next == 'n' ? '\n' : next);
                    } else {
                        value.append(c);
                    }
                    j++;
                }
                labels.put(key, value.toString());
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            space = line.indexOf(' ', i);
        } else {
            space = line.indexOf(' ');
            name = line.substring(0, space);
        }
        String[] rest = line.substring(space + 1).strip().split(" ");
        return new Sample(name, labels, number(rest[0]));
    }

    private static double number(String s) {
        return switch (s) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(s);
        };
    }

    List<Sample> samples(String name) {
        return samples.stream().filter(s -> s.name().equals(name)).toList();
    }

    /** The label names used by the samples of {@code name} (the union: every sample should have the same). */
    Set<Set<String>> labelSets(String name) {
        Set<Set<String>> out = new java.util.HashSet<>();
        for (Sample s : samples(name)) {
            out.add(new TreeSet<>(s.labels().keySet()));
        }
        return out;
    }

    /** The value of the one sample of {@code name} whose labels include {@code match}; fails when not exactly one. */
    double value(String name, Map<String, String> match) {
        List<Sample> found = samples(name).stream()
                .filter(s -> s.labels().entrySet().containsAll(match.entrySet())).toList();
        if (found.size() != 1) {
            throw new AssertionError("expected one " + name + match + ", found " + found);
        }
        return found.get(0).value();
    }

    boolean has(String name, Map<String, String> match) {
        return samples(name).stream().anyMatch(s -> s.labels().entrySet().containsAll(match.entrySet()));
    }
}
