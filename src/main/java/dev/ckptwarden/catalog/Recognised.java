package dev.ckptwarden.catalog;

import java.util.Objects;

/**
 * What the catalog made of one path: the checkpoint's facts on disk and its verdict on them, the state
 * judged from disk ({@link StateJudge}) with a note saying why when it is not complete. It carries no
 * registry fact (pin, first seen, state since): those are the registry row's.
 *
 * @param state writing, complete or corrupt: the only states the disk can show
 * @param note  why the state is not complete, or null
 */
public record Recognised(Checkpoint checkpoint, CheckpointState state, String note) {

    public Recognised {
        Objects.requireNonNull(checkpoint, "checkpoint");
        if (!state.present()) {
            throw new IllegalArgumentException("the catalog judges only states on disk, not " + state.id());
        }
    }

    /** The same verdict on other facts (an alias informed by its target, or found to be one). */
    public Recognised withFacts(Checkpoint facts) {
        return new Recognised(facts, state, note);
    }

    public String key() {
        return checkpoint.key();
    }
}
