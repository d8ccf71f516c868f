package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.names.NameParser;

import java.time.Duration;
import java.time.Instant;

/** Turns a recognised candidate and its inspection into a registry {@link Checkpoint}. */
public final class Recognition {
    private Recognition() {
    }

    /**
     * @param prev the registry's previous view of the same path, or null; keeps first-seen time and pin
     */
    public static Checkpoint checkpoint(String rootName, String runId, Candidate c, Inspection ins, NameParser names,
                                        Checkpoint prev, Instant now, Duration settle) {
        ParsedName parsed = names.parse(c.name());
        if (!c.members().isEmpty()) {
            // A multi-file checkpoint's name is a prefix (TensorFlow's "training-3000"); its member names
            // ("training-3000.index") carry the framework's naming convention.
            parsed = parsed.orElse(names.parse(c.members().get(0)));
        }
        parsed = parsed.orElse(ins.content());
        Instant modified = Instant.ofEpochMilli(c.modifiedMillis());
        StateJudge.Judgement j = StateJudge.judge(ins, modified, now, settle);
        Framework fw = ins.framework() != null && ins.framework() != Framework.UNKNOWN ? ins.framework() : c.framework();
        Instant since = prev != null && prev.state() == j.state() ? prev.stateSince() : now;
        Instant first = prev != null && prev.state().present() ? prev.firstSeen() : now;
        return new Checkpoint(rootName, runId, c.name(), c.path(), c.members(), fw, c.kind(), j.state(), parsed.epoch(),
                parsed.step(), parsed.metrics(), c.bytes(), modified, ins.resumable(), ins.aliasOf(), ins.references(),
                prev != null && prev.pinned(), prev != null ? prev.pinReason() : null, ins.problems(), c.signature(),
                first, since, j.note());
    }
}
