package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.T0;
import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static dev.ckptwarden.policy.Decisions.byName;
import static dev.ckptwarden.policy.Decisions.evicted;
import static dev.ckptwarden.policy.Decisions.kept;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every protected case holds against a configuration that would evict everything else. */
class ProtectedSetTest {

    private static final Instant NOW = T0.plus(Duration.ofDays(30));
    /** keeps nothing by rule: only protection can keep a checkpoint. */
    private static final Retention KEEP_NOTHING = new Retention(0, null, null, null);

    @Test
    void pinnedCheckpointsAreKeptWithTheirReason() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).pinned("paper results").build(),
                ckpt("step-200.ckpt").step(200).at(2).pinned(null).build(),
                ckpt("step-300.ckpt").step(300).at(3).build(),
                ckpt("step-400.ckpt").step(400).at(4).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(byName(d).get("step-100.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: pinned (paper results)");
        assertThat(byName(d).get("step-200.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: pinned");
        assertThat(evicted(d)).containsExactly("step-300.ckpt");
    }

    @Test
    void newestCompleteIsKeptEvenWithKeepLastZeroAndSkipsWritingAndCorrupt() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).build(),
                ckpt("step-200.ckpt").step(200).at(2).build(),
                ckpt("step-300.ckpt").step(300).at(3).state(CheckpointState.CORRUPT).build(),
                ckpt("step-400.ckpt").step(400).at(4).state(CheckpointState.WRITING).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(byName(d).get("step-200.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: newest complete");
        assertThat(byName(d).get("step-300.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: corrupt");
        assertThat(byName(d).get("step-400.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: writing");
        assertThat(evicted(d)).containsExactly("step-100.ckpt");
    }

    @Test
    void newestResumableIsKeptWhenTheNewestIsWeightsOnly() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).resumable(true).build(),
                ckpt("step-200.ckpt").step(200).at(2).resumable(true).build(),
                ckpt("step-300.ckpt").step(300).at(3).resumable(null).build(),
                ckpt("step-400.ckpt").step(400).at(4).resumable(false).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(byName(d).get("step-400.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: newest complete");
        // unknown (null) is not resumable: the newest known-resumable one is what a resume can use
        assertThat(byName(d).get("step-200.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: newest resumable");
        assertThat(evicted(d)).containsExactly("step-300.ckpt", "step-100.ckpt");
    }

    @Test
    void bestByKeepBestMetricIsKeptEvenWithKZero() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).metric("val_loss", 0.05).build(),
                ckpt("step-200.ckpt").step(200).at(2).metric("val_loss", 0.5).build(),
                ckpt("step-300.ckpt").step(300).at(3).metric("val_loss", 0.6).build());

        List<Decision> d = RetentionPolicy.decide(run,
                new Retention(0, new KeepBest(0, "val_loss", KeepBest.Mode.MIN), null, null), NOW);

        assertThat(byName(d).get("step-100.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: best val_loss=0.05");
        assertThat(evicted(d)).containsExactly("step-200.ckpt");
    }

    @Test
    void withoutKeepBestNoCheckpointIsProtectedAsBest() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).metric("val_loss", 0.05).build(),
                ckpt("step-200.ckpt").step(200).at(2).metric("val_loss", 0.5).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(evicted(d)).containsExactly("step-100.ckpt");
    }

    @Test
    void aliasTargetsAreKeptAndNamed() {
        List<Registered> run = List.of(
                ckpt("epoch=1.ckpt").epoch(1).at(1).build(),
                ckpt("epoch=2.ckpt").epoch(2).at(2).build(),
                ckpt("epoch=3.ckpt").epoch(3).at(3).build(),
                ckpt("last.ckpt").at(4).aliasOf("epoch=1.ckpt").build(),
                ckpt("last-v1.ckpt").at(4).aliasOf("epoch=1.ckpt").build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(byName(d).get("epoch=1.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: alias target of last-v1.ckpt", "protected: alias target of last.ckpt");
        assertThat(evicted(d)).containsExactly("epoch=2.ckpt");
    }

    @Test
    void symbolicLinksAreKeptAndTakeNoSlot() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).build(),
                ckpt("step-200.ckpt").step(200).at(2).build(),
                ckpt("step-300.ckpt").step(300).at(3).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(1, null, null, null), NOW,
                c -> c.name().equals("step-300.ckpt"));

        assertThat(byName(d).get("step-300.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: symbolic link");
        // the link is not "newest complete" and took no keep_last slot: the newest real file did
        assertThat(byName(d).get("step-200.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "keep_last 1/1");
        assertThat(evicted(d)).containsExactly("step-100.ckpt");
    }

    @Test
    void protectionHoldsWhateverTheRulesSay() {
        List<Registered> run = List.of(
                ckpt("pinned.ckpt").step(1).at(1).pinned("x").build(),
                ckpt("corrupt.ckpt").step(2).at(2).state(CheckpointState.CORRUPT).build(),
                ckpt("writing.ckpt").step(3).at(3).state(CheckpointState.WRITING).build(),
                ckpt("plain.ckpt").step(4).at(4).build(),
                ckpt("newest.ckpt").step(5).at(5).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(kept(d)).containsExactlyInAnyOrder("pinned.ckpt", "corrupt.ckpt", "writing.ckpt", "newest.ckpt");
        assertThat(d).filteredOn(x -> x.verdict() == Verdict.KEEP).allMatch(Decision::isProtected);
    }

    /**
     * Of two saves at the same highest step (a job restarted and saved step 200 again), only the newer is
     * protected: the older duplicate is not "highest step" too and is evicted. Kills PIT's boundary mutant of
     * ProtectedSet.highestStep (&gt;= instead of &gt;), which would keep every older duplicate forever.
     */
    @Test
    void ofTwoSavesAtTheSameHighestStepOnlyTheNewerIsProtected() {
        List<Registered> run = List.of(
                ckpt("step-100.ckpt").step(100).at(1).build(),
                ckpt("first-200.ckpt").step(200).at(2).build(),
                ckpt("again-200.ckpt").step(200).at(3).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(byName(d).get("again-200.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: newest complete");
        assertThat(evicted(d)).containsExactlyInAnyOrder("first-200.ckpt", "step-100.ckpt");
    }

    /**
     * A newest save that names no best (a weights-only or non-Trainer save) does not silence the older one that
     * does: the most recent checkpoint that names a best is the word on it. Kills PIT's surviving mutant of
     * ProtectedSet.reasons (the "names something" filter replaced by true), which left the named best unprotected.
     */
    @Test
    void theNewestCheckpointThatNamesABestIsHonouredWhenTheNewestNamesNone() {
        List<Registered> run = List.of(
                ckpt("checkpoint-500").step(500).at(10).build(),
                ckpt("checkpoint-1000").step(1000).at(20).namesBest("checkpoint-500").build(),
                ckpt("checkpoint-1500").step(1500).at(30).build());

        List<Decision> d = RetentionPolicy.decide(run, KEEP_NOTHING, NOW);

        assertThat(byName(d).get("checkpoint-500").reasons()).extracting(Reason::text).containsExactly("protected: named best by checkpoint-1000");
        assertThat(evicted(d)).containsExactly("checkpoint-1000");
    }
}
