package dev.ckptwarden.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The catalog's verdict on a path can only be a state the disk shows. Before the registry row was split
 * from the catalog's checkpoint, one record carried both, and a catalog result could say "deleted" or
 * "offloaded" (and carry a pin); now deleted and offloaded are the registry's alone.
 */
class RecognisedTest {

    private static final Checkpoint FACTS = new Checkpoint("r", "run", "a.ckpt", Path.of("/r/run/a.ckpt"), List.of(),
            Framework.LIGHTNING, CheckpointKind.FILE, null, 1L, Map.of(), 10L, Instant.parse("2024-01-09T10:00:00Z"),
            true, null, List.of(), List.of(), "sig");

    @Test
    void theCatalogJudgesOnlyStatesOnDisk() {
        for (CheckpointState state : CheckpointState.values()) {
            if (state.present()) {
                assertThat(new Recognised(FACTS, state, null).state()).isEqualTo(state);
            } else {
                assertThatThrownBy(() -> new Recognised(FACTS, state, "gone from disk"))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining(state.id());
            }
        }
    }
}
