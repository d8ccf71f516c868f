package dev.ckptwarden.policy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Test views of a list of decisions. */
final class Decisions {

    private Decisions() {
    }

    static Map<String, Decision> byName(List<Decision> decisions) {
        Map<String, Decision> out = new LinkedHashMap<>();
        decisions.forEach(d -> out.put(d.checkpoint().name(), d));
        return out;
    }

    static List<String> names(List<Decision> decisions) {
        return decisions.stream().map(d -> d.checkpoint().name()).toList();
    }

    static List<String> kept(List<Decision> decisions) {
        return decisions.stream().filter(d -> d.verdict() == Verdict.KEEP).map(d -> d.checkpoint().name()).toList();
    }

    static List<String> evicted(List<Decision> decisions) {
        return decisions.stream().filter(d -> d.verdict() == Verdict.EVICT).map(d -> d.checkpoint().name()).toList();
    }
}
