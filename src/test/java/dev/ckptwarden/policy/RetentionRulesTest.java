package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.T0;
import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static dev.ckptwarden.policy.Decisions.byName;
import static dev.ckptwarden.policy.Decisions.evicted;
import static dev.ckptwarden.policy.Decisions.kept;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.KeepEvery;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each retention rule alone, then together: what it keeps and the reason it prints. */
class RetentionRulesTest {

    private static final Instant NOW = T0.plus(Duration.ofDays(1));

    private static List<Registered> fiveSteps() {
        return List.of(
                ckpt("step-100.ckpt").step(100).at(1).build(),
                ckpt("step-200.ckpt").step(200).at(2).build(),
                ckpt("step-300.ckpt").step(300).at(3).build(),
                ckpt("step-400.ckpt").step(400).at(4).build(),
                ckpt("step-500.ckpt").step(500).at(5).build());
    }

    @Test
    void keepLastKeepsTheNewestNWithTheirSlot() {
        List<Decision> d = RetentionPolicy.decide(fiveSteps(), new Retention(2, null, null, null), NOW);

        assertThat(Decisions.names(d)).containsExactly(
                "step-500.ckpt", "step-400.ckpt", "step-300.ckpt", "step-200.ckpt", "step-100.ckpt");
        assertThat(byName(d).get("step-500.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "keep_last 1/2");
        assertThat(byName(d).get("step-400.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_last 2/2");
        assertThat(evicted(d)).containsExactly("step-300.ckpt", "step-200.ckpt", "step-100.ckpt");
        assertThat(byName(d).get("step-100.ckpt").reasons()).extracting(Reason::text).containsExactly("evictable: kept by no rule");
    }

    @Test
    void keepLastCountsOnlyCompleteCheckpoints() {
        List<Registered> run = new java.util.ArrayList<>(fiveSteps());
        run.add(ckpt("step-600.ckpt").step(600).at(6).state(CheckpointState.WRITING).build());
        run.add(ckpt("step-350.ckpt").step(350).at(7).state(CheckpointState.CORRUPT).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(2, null, null, null), NOW);

        assertThat(byName(d).get("step-600.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: writing");
        assertThat(byName(d).get("step-350.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: corrupt");
        assertThat(byName(d).get("step-400.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_last 2/2");
        assertThat(evicted(d)).containsExactly("step-300.ckpt", "step-200.ckpt", "step-100.ckpt");
    }

    @Test
    void keepBestKeepsTheKBestByMetricMin() {
        List<Registered> run = List.of(
                ckpt("a.ckpt").step(1).at(1).metric("val_loss", 0.30).build(),
                ckpt("b.ckpt").step(2).at(2).metric("val_loss", 0.1234).build(),
                ckpt("c.ckpt").step(3).at(3).metric("val_loss", 0.50).build(),
                ckpt("d.ckpt").step(4).at(4).metric("val_loss", 0.20).build(),
                ckpt("e.ckpt").step(5).at(5).metric("val_loss", 0.90).build());

        List<Decision> d = RetentionPolicy.decide(run,
                new Retention(null, new KeepBest(2, "val_loss", KeepBest.Mode.MIN), null, null), NOW);

        assertThat(byName(d).get("b.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: best val_loss=0.1234", "keep_best 1/2 val_loss=0.1234");
        assertThat(byName(d).get("d.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_best 2/2 val_loss=0.2");
        assertThat(byName(d).get("e.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: newest complete");
        assertThat(evicted(d)).containsExactly("c.ckpt", "a.ckpt");
    }

    @Test
    void keepBestModeMaxPrefersHigherValues() {
        List<Registered> run = List.of(
                ckpt("a.ckpt").step(1).at(1).metric("val_acc", 0.91).build(),
                ckpt("b.ckpt").step(2).at(2).metric("val_acc", 0.50).build(),
                ckpt("c.ckpt").step(3).at(3).metric("val_acc", 0.95).build(),
                ckpt("d.ckpt").step(4).at(4).metric("val_acc", 0.10).build());

        List<Decision> d = RetentionPolicy.decide(run,
                new Retention(null, new KeepBest(2, "val_acc", KeepBest.Mode.MAX), null, null), NOW);

        assertThat(byName(d).get("c.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: best val_acc=0.95", "keep_best 1/2 val_acc=0.95");
        assertThat(byName(d).get("a.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_best 2/2 val_acc=0.91");
        assertThat(evicted(d)).containsExactly("b.ckpt");
    }

    @Test
    void keepBestSkipsCheckpointsWithoutTheMetricAndBreaksTiesByNewer() {
        List<Registered> run = List.of(
                ckpt("old-tie.ckpt").step(1).at(1).metric("val_loss", 0.2).build(),
                ckpt("no-metric.ckpt").step(2).at(2).metric("train_loss", 0.01).build(),
                ckpt("new-tie.ckpt").step(3).at(3).metric("val_loss", 0.2).build(),
                ckpt("worse.ckpt").step(4).at(4).metric("val_loss", 0.7).build(),
                ckpt("newest.ckpt").step(5).at(5).build());

        List<Decision> d = RetentionPolicy.decide(run,
                new Retention(null, new KeepBest(1, "val_loss", KeepBest.Mode.MIN), null, null), NOW);

        assertThat(byName(d).get("new-tie.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: best val_loss=0.2", "keep_best 1/1 val_loss=0.2");
        assertThat(evicted(d)).containsExactly("worse.ckpt", "no-metric.ckpt", "old-tie.ckpt");
    }

    @Test
    void keepEveryStepsKeepsMilestonesOnly() {
        List<Registered> run = List.of(
                ckpt("s5000.ckpt").step(5000).at(1).build(),
                ckpt("s7500.ckpt").step(7500).at(2).build(),
                ckpt("s10000.ckpt").step(10000).at(3).build(),
                ckpt("epoch-only.ckpt").epoch(10).at(4).build(),
                ckpt("s12345.ckpt").step(12345).at(5).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(null, null, new KeepEvery(5000L, null), null), NOW);

        assertThat(byName(d).get("s10000.ckpt").reasons()).extracting(Reason::text).containsExactly("milestone step 10000");
        assertThat(byName(d).get("s5000.ckpt").reasons()).extracting(Reason::text).containsExactly("milestone step 5000");
        assertThat(evicted(d)).containsExactly("epoch-only.ckpt", "s7500.ckpt");
    }

    @Test
    void keepEveryEpochsKeepsEpochMilestonesAndIgnoresStepOnlyNames() {
        List<Registered> run = List.of(
                ckpt("epoch=4.ckpt").epoch(4).at(1).build(),
                ckpt("epoch=5.ckpt").epoch(5).at(2).build(),
                ckpt("step-5000.ckpt").step(5000).at(3).build(),
                ckpt("epoch=6.ckpt").epoch(6).at(4).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(null, null, new KeepEvery(null, 5), null), NOW);

        assertThat(byName(d).get("epoch=5.ckpt").reasons()).extracting(Reason::text).containsExactly("milestone epoch 5");
        // The only stepped save is the highest step, and not the newest: protected (issue 14), not a milestone.
        assertThat(byName(d).get("step-5000.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: highest step");
        assertThat(evicted(d)).containsExactlyInAnyOrder("epoch=4.ckpt");
    }

    @Test
    void keepWithinKeepsWhatWasModifiedWithinTheWindowBoundaryIncluded() {
        Instant now = T0.plus(Duration.ofDays(3));
        List<Registered> run = List.of(
                ckpt("25h.ckpt").step(1).modified(now.minus(Duration.ofHours(25))).build(),
                ckpt("24h.ckpt").step(2).modified(now.minus(Duration.ofHours(24))).build(),
                ckpt("23h.ckpt").step(3).modified(now.minus(Duration.ofHours(23))).build(),
                ckpt("1h.ckpt").step(4).modified(now.minus(Duration.ofHours(1))).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(null, null, null, Duration.ofHours(24)), now);

        assertThat(byName(d).get("24h.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_within 24h");
        assertThat(byName(d).get("23h.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_within 24h");
        assertThat(evicted(d)).containsExactly("25h.ckpt");
    }

    @Test
    void rulesCombineAsAUnionWithReasonsInRuleOrder() {
        Instant now = T0.plus(Duration.ofHours(10));
        List<Registered> run = List.of(
                ckpt("s1000.ckpt").step(1000).at(0).metric("val_loss", 0.9).build(),
                ckpt("s1500.ckpt").step(1500).at(60).metric("val_loss", 0.1).build(),
                ckpt("s2000.ckpt").step(2000).at(120).metric("val_loss", 0.8).build(),
                ckpt("s2500.ckpt").step(2500).at(180).metric("val_loss", 0.7).build(),
                ckpt("s2600.ckpt").step(2600).at(560).metric("val_loss", 0.6).build(),
                ckpt("s2700.ckpt").step(2700).at(570).metric("val_loss", 0.5).build(),
                ckpt("s3000.ckpt").step(3000).at(590).metric("val_loss", 0.4).build());
        Retention r = new Retention(1, new KeepBest(1, "val_loss", KeepBest.Mode.MIN), new KeepEvery(1000L, null),
                Duration.ofMinutes(45));

        List<Decision> d = RetentionPolicy.decide(run, r, now);

        assertThat(byName(d).get("s3000.ckpt").reasons()).extracting(Reason::text).containsExactly(
                "protected: newest complete", "keep_last 1/1", "milestone step 3000", "keep_within 45m");
        assertThat(byName(d).get("s1500.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: best val_loss=0.1", "keep_best 1/1 val_loss=0.1");
        assertThat(byName(d).get("s2000.ckpt").reasons()).extracting(Reason::text).containsExactly("milestone step 2000");
        assertThat(byName(d).get("s2700.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_within 45m");
        assertThat(kept(d)).containsExactly(
                "s3000.ckpt", "s2700.ckpt", "s2600.ckpt", "s2000.ckpt", "s1500.ckpt", "s1000.ckpt");
        assertThat(evicted(d)).containsExactly("s2500.ckpt");
    }

    @Test
    void noRulesConfiguredKeepsOnlyTheProtectedSet() {
        List<Decision> d = RetentionPolicy.decide(fiveSteps(), Retention.NONE, NOW);

        assertThat(kept(d)).containsExactly("step-500.ckpt");
    }

    @Test
    void negativeCountsAreRefusedRatherThanReadAsZero() {
        assertThatThrownBy(() -> RetentionPolicy.decide(fiveSteps(), new Retention(-1, null, null, null), NOW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keep_last");
        assertThatThrownBy(() -> RetentionPolicy.decide(fiveSteps(), new Retention(null, null, new KeepEvery(0L, null),
                null), NOW)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keep_every.steps");
    }

    @Test
    void checkpointsOfTwoRunsAreRefused() {
        List<Registered> mixed = List.of(ckpt("a.ckpt").build(), ckpt("b.ckpt").run("/data/ckpt", "run2").build());

        assertThatThrownBy(() -> RetentionPolicy.decide(mixed, Retention.NONE, NOW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one run at a time");
    }

    @Test
    void historyStatesAreRefused() {
        List<Registered> run = List.of(ckpt("gone.ckpt").state(CheckpointState.DELETED).build());

        assertThatThrownBy(() -> RetentionPolicy.decide(run, Retention.NONE, NOW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("deleted");
    }

    @Test
    void emptyRunHasNoDecisions() {
        assertThat(RetentionPolicy.decide(List.of(), new Retention(3, null, null, null), NOW)).isEmpty();
        assertThat(RetentionPolicy.pressureOrder(List.of())).isEmpty();
    }
}
