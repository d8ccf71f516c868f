package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.T0;
import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static dev.ckptwarden.policy.Decisions.byName;
import static dev.ckptwarden.policy.Decisions.evicted;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Resolver;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 (SPEC "Retention semantics", protected item 2): "newest" is the most recently completed
 * checkpoint, not the highest step; the highest step is protected as well where it differs.
 */
class NewestIsMostRecentlyCompletedTest {

    private static final Instant NOW = T0.plus(Duration.ofDays(1));
    private static final Retention KEEP_LAST_2 = new Retention(2, null, null, null);

    /** A job restarted from step 0 in the same directory ten hours after the old run's step 4100. */
    private static List<Registered> stepReset() {
        return List.of(
                ckpt("epoch=8-step=4000.ckpt").epoch(8).step(4000).at(0).resumable(true).build(),
                ckpt("epoch=9-step=4100.ckpt").epoch(9).step(4100).at(10).resumable(true).build(),
                ckpt("epoch=0-step=100.ckpt").epoch(0).step(100).at(600).resumable(true).build(),
                ckpt("epoch=0-step=200.ckpt").epoch(0).step(200).at(610).resumable(true).build(),
                ckpt("epoch=0-step=300.ckpt").epoch(0).step(300).at(620).resumable(true).build());
    }

    @Test
    void issue14RestartFromStepZeroKeepsItsFreshestSavesAndTheHighestStep() {
        List<Decision> d = RetentionPolicy.decide(stepReset(), KEEP_LAST_2, NOW);

        assertThat(byName(d).get("epoch=0-step=300.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "protected: newest resumable", "keep_last 1/2");
        assertThat(byName(d).get("epoch=0-step=200.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_last 2/2");
        assertThat(byName(d).get("epoch=9-step=4100.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: highest step");
        assertThat(evicted(d)).containsExactlyInAnyOrder("epoch=0-step=100.ckpt", "epoch=8-step=4000.ckpt");
        assertThat(Resolver.resolve(stepReset(), "latest", false, null)).get()
                .extracting(Registered::name).isEqualTo("epoch=0-step=300.ckpt");
    }

    @Test
    void issue14HighestStepNeedsNoSecondReasonWhenItIsTheNewest() {
        List<Decision> d = RetentionPolicy.decide(List.of(
                ckpt("step=100.ckpt").step(100).at(1).build(),
                ckpt("step=200.ckpt").step(200).at(2).build()), new Retention(1, null, null, null), NOW);
        assertThat(byName(d).get("step=200.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: newest complete", "keep_last 1/1");
        assertThat(evicted(d)).containsExactly("step=100.ckpt");
    }

    /** A resumed run overlaps the old one: two saves of step 500; the one completed later is the newest. */
    @Test
    void issue14OfTwoSavesOfOneStepTheLaterCompletedIsNewest() {
        List<Registered> run = List.of(
                ckpt("epoch=4-step=500-v1.ckpt").epoch(4).step(500).at(5).completedAt(90).build(),
                ckpt("epoch=4-step=500.ckpt").epoch(4).step(500).at(8).completedAt(10).build(),
                ckpt("epoch=3-step=400.ckpt").epoch(3).step(400).at(4).completedAt(9).build());
        List<Decision> d = RetentionPolicy.decide(run, new Retention(1, null, null, null), NOW);
        assertThat(byName(d).get("epoch=4-step=500-v1.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "keep_last 1/1");
        assertThat(evicted(d)).containsExactlyInAnyOrder("epoch=4-step=500.ckpt", "epoch=3-step=400.ckpt");
        assertThat(Resolver.resolve(run, "step:500", false, null)).get()
                .extracting(Registered::name).isEqualTo("epoch=4-step=500-v1.ckpt");
    }

    /**
     * The registry's completion time decides, not the file's modification time: a save written on a
     * node whose clock is an hour behind is still the newest when the registry saw it complete last.
     */
    @Test
    void issue14ANodeClockBehindDoesNotMakeTheFreshestSaveOlder() {
        List<Registered> run = List.of(
                ckpt("epoch=1-step=100.ckpt").epoch(1).step(100).at(100).completedAt(101).build(),
                ckpt("epoch=0-step=50.ckpt").epoch(0).step(50).at(40).completedAt(130).build());
        List<Decision> d = RetentionPolicy.decide(run, new Retention(1, null, null, null), NOW);
        assertThat(byName(d).get("epoch=0-step=50.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "keep_last 1/1");
        assertThat(byName(d).get("epoch=1-step=100.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: highest step");
    }
}
