package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.names.NameParser;

import java.time.Duration;
import java.time.Instant;

/** Turns a recognised candidate and its inspection into a {@link Checkpoint} and the state judged of it. */
public final class Recognition {
    private Recognition() {
    }

    public static Recognised checkpoint(String rootName, String runId, Candidate c, Inspection ins, NameParser names,
                                        Instant now, Duration settle) {
        return checkpoint(rootName, runId, c, ins, names, now, settle, Instant.ofEpochMilli(c.modifiedMillis()));
    }

    /**
     * @param changed when the candidate last changed, for the settle time: its modification time, unless the
     *                caller knows better (a time ahead of the clock says nothing about how long ago it changed)
     */
    public static Recognised checkpoint(String rootName, String runId, Candidate c, Inspection ins, NameParser names,
                                        Instant now, Duration settle, Instant changed) {
        ParsedName parsed = names.parse(c.name());
        if (!c.members().isEmpty()) {
            // A multi-file checkpoint's name is a prefix (TensorFlow's "training-3000"); its member names
            // ("training-3000.index") carry the framework's naming convention.
            parsed = parsed.orElse(names.parse(c.members().get(0)));
        }
        parsed = parsed.orElse(ins.content());
        Instant modified = Instant.ofEpochMilli(c.modifiedMillis());
        StateJudge.Judgement j = StateJudge.judge(ins, changed, now, settle);
        Framework fw = ins.framework() != null && ins.framework() != Framework.UNKNOWN ? ins.framework() : c.framework();
        Checkpoint facts = new Checkpoint(rootName, runId, c.name(), c.path(), c.members(), fw, c.kind(),
                parsed.epoch(), parsed.step(), parsed.metrics(), c.bytes(), modified, ins.resumable(), ins.aliasOf(),
                ins.references(), ins.problems(), c.signature());
        return new Recognised(facts, j.state(), j.note());
    }
}
