package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.T0;
import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.KeepEvery;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Under quota or disk pressure: least valuable first, never the protected set. */
class PressureOrderTest {

    private static final Instant NOW = T0.plus(Duration.ofMinutes(600));
    private static final Retention ALL_RULES = new Retention(2, new KeepBest(3, "val_loss", KeepBest.Mode.MIN),
            new KeepEvery(1000L, null), Duration.ofHours(2));

    private static List<Registered> run() {
        return List.of(
                ckpt("A-s100").step(100).at(0).metric("val_loss", 0.90).build(),      // evictable
                ckpt("B-s1000").step(1000).at(60).metric("val_loss", 0.95).build(),   // milestone
                ckpt("C-s1100").step(1100).at(120).metric("val_loss", 0.10).build(),  // best: protected
                ckpt("D-s1200").step(1200).at(180).metric("val_loss", 0.30).build(),  // keep_best 3/3
                ckpt("E-s1300").step(1300).at(240).metric("val_loss", 0.20).build(),  // keep_best 2/3
                ckpt("F-s1400").step(1400).at(300).metric("val_loss", 0.99).build(),  // evictable
                ckpt("G-s2000").step(2000).at(360).metric("val_loss", 0.98).build(),  // milestone
                ckpt("H-s2100").step(2100).at(490).metric("val_loss", 0.97).build(),  // keep_within only
                ckpt("I-s2200").step(2200).at(500).metric("val_loss", 0.96).build(),  // keep_within only
                ckpt("J-s2300").step(2300).at(540).metric("val_loss", 0.94).build(),  // keep_last 2/2 and keep_within
                ckpt("K-s2400").step(2400).at(590).metric("val_loss", 0.93).build(),  // newest: protected
                ckpt("W-s2500").step(2500).at(599).state(CheckpointState.WRITING).build());
    }

    @Test
    void tiersComeLeastValuableFirstAndProtectedNeverAppear() {
        List<PressureCandidate> order = RetentionPolicy.pressureOrder(RetentionPolicy.decide(run(), ALL_RULES, NOW));

        assertThat(order).extracting(c -> c.checkpoint().name(), PressureCandidate::tier).containsExactly(
                tuple("A-s100", "evictable"),
                tuple("F-s1400", "evictable"),
                tuple("H-s2100", "keep_within"),
                tuple("I-s2200", "keep_within"),
                tuple("B-s1000", "milestone"),
                tuple("G-s2000", "milestone"),
                tuple("J-s2300", "keep_last"),
                tuple("D-s1200", "keep_best"),
                tuple("E-s1300", "keep_best"));
    }

    @Test
    void runsAreInterleavedByModificationTimeWithinATier() {
        List<Decision> both = new ArrayList<>();
        both.addAll(RetentionPolicy.decide(List.of(
                ckpt("r1-old").run("/data/ckpt", "r1").step(1).at(0).build(),
                ckpt("r1-mid").run("/data/ckpt", "r1").step(2).at(100).build(),
                ckpt("r1-new").run("/data/ckpt", "r1").step(3).at(500).build()), Retention.NONE, NOW));
        both.addAll(RetentionPolicy.decide(List.of(
                ckpt("r2-old").run("/data/ckpt", "r2").step(1).at(50).build(),
                ckpt("r2-mid").run("/data/ckpt", "r2").step(2).at(150).build(),
                ckpt("r2-new").run("/data/ckpt", "r2").step(3).at(500).build()), Retention.NONE, NOW));

        assertThat(RetentionPolicy.pressureOrder(both)).extracting(c -> c.checkpoint().name())
                .containsExactly("r1-old", "r2-old", "r1-mid", "r2-mid");
    }

    /** Issue 14: age is the order of completion (a run restarted from step 0 saves s100 last), not of steps. */
    @Test
    void withinARunAgeFollowsCompletionNotSteps() {
        List<Decision> d = RetentionPolicy.decide(List.of(
                ckpt("s100").step(100).at(300).build(),
                ckpt("s200").step(200).at(100).build(),
                ckpt("s300").step(300).at(200).build(),
                ckpt("s400").step(400).at(400).build()), Retention.NONE, NOW);

        assertThat(RetentionPolicy.pressureOrder(d)).extracting(c -> c.checkpoint().name())
                .containsExactly("s200", "s300", "s100");
    }

    @Test
    void decisionsKeptForUnknownReasonsAreNeverCandidates() {
        Registered c = ckpt("x").step(1).build();
        List<Decision> foreign = List.of(new Decision(c, Verdict.KEEP, List.of(Reason.pressure("kept by operator"))));

        assertThat(RetentionPolicy.pressureOrder(foreign)).isEmpty();
    }
}
