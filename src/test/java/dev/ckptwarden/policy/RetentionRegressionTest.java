package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.T0;
import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static dev.ckptwarden.policy.Decisions.byName;
import static dev.ckptwarden.policy.Decisions.evicted;
import static dev.ckptwarden.policy.Decisions.kept;
import static dev.ckptwarden.policy.Decisions.names;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.KeepEvery;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.registry.Registered;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Failures seen in real training setups, each pinned by a test named after it. */
class RetentionRegressionTest {

    private static final Instant NOW = T0.plus(Duration.ofDays(2));

    /**
     * HF Trainer with save_total_limit=1 and load_best_model_at_end rotated away the best checkpoint
     * (or kept only one of the two). keep_last 1 plus keep_best must keep the best AND the newest.
     */
    @Test
    void hfRotationKeepsBestWithSaveTotalLimitOne() {
        Retention saveTotalLimitOneWithBest = new Retention(1, new KeepBest(1, "eval_loss", KeepBest.Mode.MIN), null,
                null);
        List<Registered> run = new ArrayList<>(List.of(
                ckpt("checkpoint-500").step(500).at(10).resumable(true).metric("eval_loss", 0.10).build(),
                ckpt("checkpoint-1000").step(1000).at(20).resumable(true).metric("eval_loss", 0.30).build(),
                ckpt("checkpoint-1500").step(1500).at(30).resumable(true).metric("eval_loss", 0.50).build()));

        List<Decision> d = RetentionPolicy.decide(run, saveTotalLimitOneWithBest, NOW);

        assertThat(kept(d)).containsExactly("checkpoint-1500", "checkpoint-500");
        assertThat(byName(d).get("checkpoint-500").reasons()).extracting(Reason::text)
                .containsExactly("protected: best eval_loss=0.1", "keep_best 1/1 eval_loss=0.1");
        assertThat(byName(d).get("checkpoint-1500").reasons()).extracting(Reason::text).containsExactly(
                "protected: newest complete", "protected: newest resumable", "keep_last 1/1");
        assertThat(evicted(d)).containsExactly("checkpoint-1000");
        assertThat(RetentionPolicy.pressureOrder(d)).extracting(c -> c.checkpoint().name())
                .containsExactly("checkpoint-1000");

        // when the newest is also the best, one checkpoint is enough
        run.add(ckpt("checkpoint-2000").step(2000).at(40).resumable(true).metric("eval_loss", 0.05).build());
        assertThat(kept(RetentionPolicy.decide(run, saveTotalLimitOneWithBest, NOW))).containsExactly("checkpoint-2000");
    }

    /**
     * The same HF failure without a keep_best rule in our configuration: the Trainer's own
     * trainer_state.json names the best checkpoint, and load_best_model_at_end will load it, so it
     * must survive keep_last 1.
     */
    @Test
    void hfBestModelCheckpointNamedByTrainerStateSurvivesKeepLastOne() {
        List<Registered> run = List.of(
                ckpt("checkpoint-500").step(500).at(10).resumable(true).build(),
                ckpt("checkpoint-1000").step(1000).at(20).resumable(true).namesBest("checkpoint-500").build(),
                ckpt("checkpoint-1500").step(1500).at(30).resumable(true).namesBest("checkpoint-500").build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(1, null, null, null), NOW);

        assertThat(kept(d)).containsExactly("checkpoint-1500", "checkpoint-500");
        assertThat(byName(d).get("checkpoint-500").reasons()).extracting(Reason::text).containsExactly("protected: named best by checkpoint-1500");
        assertThat(evicted(d)).containsExactly("checkpoint-1000");
        assertThat(RetentionPolicy.pressureOrder(d)).extracting(c -> c.checkpoint().name()).containsExactly("checkpoint-1000");
    }

    /** A NaN monitor value compares false with everything; it must never rank as best, in either mode. */
    @Test
    void lightningTopKWithNanMonitorNeverCountsNanAsBest() {
        List<Registered> run = List.of(
                ckpt("epoch=0-val_loss=0.50.ckpt").epoch(0).at(1).metric("val_loss", 0.5).metric("val_acc", 0.5).build(),
                ckpt("epoch=1-val_loss=nan.ckpt").epoch(1).at(2).metric("val_loss", Double.NaN)
                        .metric("val_acc", Double.NaN).build(),
                ckpt("epoch=2-val_loss=0.70.ckpt").epoch(2).at(3).metric("val_loss", 0.7).metric("val_acc", 0.3).build(),
                ckpt("epoch=3-val_loss=0.90.ckpt").epoch(3).at(4).metric("val_loss", 0.9).metric("val_acc", 0.1).build());

        for (KeepBest best : List.of(new KeepBest(2, "val_loss", KeepBest.Mode.MIN),
                new KeepBest(2, "val_acc", KeepBest.Mode.MAX))) {
            List<Decision> d = RetentionPolicy.decide(run, new Retention(null, best, null, null), NOW);

            assertThat(evicted(d)).as(best.toString()).containsExactly("epoch=1-val_loss=nan.ckpt");
            assertThat(d).flatExtracting(Decision::reasons).as(best.toString()).noneMatch(r -> r.text().contains("nan"));
            assertThat(byName(d).get("epoch=0-val_loss=0.50.ckpt").reasons()).extracting(Reason::text).as(best.toString())
                    .first().asString().startsWith("protected: best ");
        }

        List<Registered> allNan = List.of(
                ckpt("a.ckpt").epoch(0).at(1).metric("val_loss", Double.NaN).build(),
                ckpt("b.ckpt").epoch(1).at(2).metric("val_loss", Double.NaN).build());
        List<Decision> d = RetentionPolicy.decide(allNan,
                new Retention(null, new KeepBest(2, "val_loss", KeepBest.Mode.MIN), null, null), NOW);
        assertThat(evicted(d)).containsExactly("a.ckpt");
    }

    /**
     * A diverged save whose metric is infinite on the good side (a Gaussian NLL collapsing to -inf, an
     * accuracy written as inf) is not the run's best: keep_best ranks finite values only, so the real
     * best keeps its slot. Found from outside: keep_best {k: 1, mode: max} kept {@code val_acc=inf} and
     * evicted the 0.90 checkpoint.
     */
    @Test
    void anInfiniteMetricNeverTakesTheBestSlotFromAFiniteOne() {
        List<Registered> run = List.of(
                ckpt("epoch=0.ckpt").epoch(0).at(1).metric("val_nll", 0.5).metric("val_acc", 0.9).build(),
                ckpt("epoch=1.ckpt").epoch(1).at(2).metric("val_nll", Double.NEGATIVE_INFINITY)
                        .metric("val_acc", Double.POSITIVE_INFINITY).build(),
                ckpt("epoch=2.ckpt").epoch(2).at(3).metric("val_nll", 0.9).metric("val_acc", 0.1).build());

        for (KeepBest best : List.of(new KeepBest(1, "val_nll", KeepBest.Mode.MIN),
                new KeepBest(1, "val_acc", KeepBest.Mode.MAX))) {
            List<Decision> d = RetentionPolicy.decide(run, new Retention(null, best, null, null), NOW);

            assertThat(evicted(d)).as(best.toString()).containsExactly("epoch=1.ckpt");
            assertThat(byName(d).get("epoch=0.ckpt").reasons()).extracting(Reason::text).as(best.toString())
                    .first().asString().startsWith("protected: best ");
        }
    }

    /** Lightning's -v1/-v2 duplicates share epoch and step; the most recently written one is newest, not the highest suffix. */
    @Test
    void duplicateVersionNamesSameStepNewestByMtimeWins() {
        List<Registered> run = List.of(
                ckpt("epoch=2-step=3.ckpt").epoch(2).step(3).at(5).build(),
                ckpt("epoch=3-step=4.ckpt").epoch(3).step(4).at(10).build(),
                ckpt("epoch=3-step=4-v1.ckpt").epoch(3).step(4).at(30).build(),
                ckpt("epoch=3-step=4-v2.ckpt").epoch(3).step(4).at(20).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(1, null, null, null), NOW);

        assertThat(names(d)).containsExactly(
                "epoch=3-step=4-v1.ckpt", "epoch=3-step=4-v2.ckpt", "epoch=3-step=4.ckpt", "epoch=2-step=3.ckpt");
        assertThat(byName(d).get("epoch=3-step=4-v1.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "keep_last 1/1");
        assertThat(kept(d)).containsExactly("epoch=3-step=4-v1.ckpt");
    }

    /**
     * last.ckpt as a byte-identical copy and as a symbolic link: an alias takes no keep_last slot, is
     * kept when its target is kept, and a link is never evicted, even when its target is gone.
     */
    @Test
    void lastCkptCopyVsSymlink() {
        List<Registered> run = List.of(
                ckpt("epoch=0.ckpt").epoch(0).at(0).build(),
                ckpt("epoch=1.ckpt").epoch(1).at(1).build(),
                ckpt("epoch=2.ckpt").epoch(2).at(2).build(),
                ckpt("epoch=3.ckpt").epoch(3).at(3).build(),
                ckpt("last.ckpt").at(4).aliasOf("epoch=3.ckpt").build(),
                ckpt("last-v1.ckpt").at(1).aliasOf("epoch=1.ckpt").build());
        Set<String> links = Set.of("last-v1.ckpt");

        List<Decision> d = RetentionPolicy.decide(run, new Retention(2, null, null, null), NOW,
                c -> links.contains(c.name()));

        assertThat(byName(d).get("epoch=3.ckpt").reasons()).extracting(Reason::text).containsExactly(
                "protected: newest complete", "protected: alias target of last.ckpt", "keep_last 1/2");
        assertThat(byName(d).get("epoch=2.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_last 2/2");
        assertThat(byName(d).get("epoch=1.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: alias target of last-v1.ckpt");
        assertThat(byName(d).get("last.ckpt").reasons()).extracting(Reason::text).containsExactly("alias of epoch=3.ckpt");
        assertThat(byName(d).get("last-v1.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: symbolic link", "alias of epoch=1.ckpt");
        assertThat(evicted(d)).containsExactly("epoch=0.ckpt");
        assertThat(RetentionPolicy.pressureOrder(d)).extracting(c -> c.checkpoint().name())
                .containsExactly("epoch=0.ckpt", "epoch=2.ckpt");

        // targets gone (links to D:/... paths of another machine, as in a real repository)
        List<Registered> dangling = List.of(
                ckpt("epoch=5.ckpt").epoch(5).at(10).build(),
                ckpt("last.ckpt").at(4).aliasOfPath(Path.of("D:/Lucas/checkpoints/epoch=3.ckpt")).build(),
                ckpt("last-v1.ckpt").at(3).aliasOfPath(Path.of("D:/Lucas/checkpoints/epoch=1.ckpt")).build());

        List<Decision> known = RetentionPolicy.decide(dangling, new Retention(1, null, null, null), NOW,
                c -> links.contains(c.name()));
        assertThat(byName(known).get("last-v1.ckpt").reasons()).extracting(Reason::text).containsExactly("protected: symbolic link");
        // a copy whose target is gone is an ordinary checkpoint (its bytes may be the only ones left)
        assertThat(evicted(known)).containsExactly("last.ckpt");

        List<Decision> unknown = RetentionPolicy.decide(dangling, new Retention(1, null, null, null), NOW);
        assertThat(evicted(unknown)).isEmpty();
        assertThat(byName(unknown).get("last.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: dangling alias, may be a symbolic link");
    }

    /** An epoch-only name among step-only names is placed by modification time and never reorders the steps. */
    @Test
    void epochOnlyBesideStepOnlyNames() {
        Registered step1000 = ckpt("checkpoint_step_1000.pt").step(1000).at(10).build();
        Registered step2000 = ckpt("checkpoint_step_2000.pt").step(2000).at(30).build();

        List<Decision> between = RetentionPolicy.decide(
                List.of(step1000, step2000, ckpt("epoch_05-val_loss=0.123.ckpt").epoch(5).at(20).build()),
                new Retention(2, null, null, null), NOW);
        assertThat(names(between))
                .containsExactly("checkpoint_step_2000.pt", "epoch_05-val_loss=0.123.ckpt", "checkpoint_step_1000.pt");
        assertThat(evicted(between)).containsExactly("checkpoint_step_1000.pt");

        List<Decision> newest = RetentionPolicy.decide(
                List.of(step1000, step2000, ckpt("epoch_05-val_loss=0.123.ckpt").epoch(5).at(40).build()),
                new Retention(1, null, null, null), NOW);
        assertThat(byName(newest).get("epoch_05-val_loss=0.123.ckpt").reasons()).extracting(Reason::text)
                .containsExactly("protected: newest complete", "keep_last 1/1");
        // The furthest save by step is not the newest here: protected as well (issue 14).
        assertThat(byName(newest).get("checkpoint_step_2000.pt").reasons()).extracting(Reason::text).containsExactly("protected: highest step");
        assertThat(evicted(newest)).containsExactly("checkpoint_step_1000.pt");
    }

    /** A resumed run restarted its step counter: two checkpoints at step 500, the later-written one is newest. */
    @Test
    void resumeRestartedStepNumbers() {
        List<Registered> run = List.of(
                ckpt("epoch=1-step=400.ckpt").epoch(1).step(400).at(5).build(),
                ckpt("epoch=2-step=500.ckpt").epoch(2).step(500).at(10).build(),
                ckpt("epoch=0-step=500.ckpt").epoch(0).step(500).at(50).build());

        List<Decision> d = RetentionPolicy.decide(run, new Retention(1, null, null, null), NOW);

        assertThat(names(d)).containsExactly("epoch=0-step=500.ckpt", "epoch=2-step=500.ckpt", "epoch=1-step=400.ckpt");
        assertThat(kept(d)).containsExactly("epoch=0-step=500.ckpt");
    }

    /** NTP stepping the clock back must not make anything older, hence evictable. */
    @Test
    void clockSteppedBackNeverMakesACheckpointEvictable() {
        Retention within1h = new Retention(null, null, null, Duration.ofHours(1));
        Instant now = T0.plus(Duration.ofHours(10));
        List<Registered> run = List.of(
                ckpt("s1.ckpt").step(1).modified(now.minus(Duration.ofHours(3))).build(),
                ckpt("s2.ckpt").step(2).modified(now.minus(Duration.ofMinutes(30))).build(),
                ckpt("s3.ckpt").step(3).modified(now.plus(Duration.ofHours(2))).build(),
                ckpt("s4.ckpt").step(4).modified(now.plus(Duration.ofHours(3))).build());

        List<Decision> d = RetentionPolicy.decide(run, within1h, now);
        assertThat(byName(d).get("s3.ckpt").reasons()).extracting(Reason::text).containsExactly("keep_within 1h");
        assertThat(evicted(d)).containsExactly("s1.ckpt");

        for (Duration back : List.of(Duration.ofMinutes(1), Duration.ofHours(2), Duration.ofDays(400))) {
            List<Decision> earlier = RetentionPolicy.decide(run, within1h, now.minus(back));
            assertThat(evicted(earlier)).as("clock stepped back by " + back).isSubsetOf(evicted(d));
        }
    }

    @Test
    void watchOnlyRootKeepsEverything() {
        List<Registered> run = List.of(
                ckpt("s1.ckpt").step(1).at(1).build(),
                ckpt("s2.ckpt").step(2).at(2).state(CheckpointState.CORRUPT).build(),
                ckpt("s3.ckpt").step(3).at(3).build());

        List<Decision> d = RetentionPolicy.decide(run, null, NOW);

        assertThat(d).allSatisfy(x -> {
            assertThat(x.verdict()).isEqualTo(Verdict.KEEP);
            assertThat(x.reasons()).extracting(Reason::text).containsExactly("watch-only root");
        });
        assertThat(names(d)).containsExactly("s3.ckpt", "s2.ckpt", "s1.ckpt");
        assertThat(RetentionPolicy.pressureOrder(d)).isEmpty();
    }

    @Test
    void sameInputShuffledGivesSameDecisionsAndPressureOrder() {
        List<Registered> run = new ArrayList<>(List.of(
                ckpt("epoch=3-step=4.ckpt").epoch(3).step(4).at(10).metric("val_loss", 0.3).build(),
                ckpt("epoch=3-step=4-v1.ckpt").epoch(3).step(4).at(10).metric("val_loss", 0.3).build(),
                ckpt("epoch=5.ckpt").epoch(5).at(12).metric("val_loss", 0.2).build(),
                ckpt("step-100.ckpt").step(100).at(11).build(),
                ckpt("misc.ckpt").at(10).build(),
                ckpt("s0.ckpt").step(0).at(1).metric("val_loss", 0.9).build(),
                ckpt("last.ckpt").at(13).aliasOf("epoch=5.ckpt").build(),
                ckpt("w.ckpt").step(7).at(14).state(CheckpointState.WRITING).build()));
        Retention r = new Retention(2, new KeepBest(2, "val_loss", KeepBest.Mode.MIN), new KeepEvery(100L, null),
                Duration.ofMinutes(30));
        Instant now = T0.plus(Duration.ofMinutes(35));
        List<Decision> reference = RetentionPolicy.decide(run, r, now);
        List<PressureCandidate> referencePressure = RetentionPolicy.pressureOrder(reference);

        Random random = new Random(42);
        for (int i = 0; i < 50; i++) {
            Collections.shuffle(run, random);
            List<Decision> d = RetentionPolicy.decide(run, r, now);
            assertThat(d).isEqualTo(reference);
            List<Decision> shuffledDecisions = new ArrayList<>(d);
            Collections.shuffle(shuffledDecisions, random);
            assertThat(RetentionPolicy.pressureOrder(shuffledDecisions)).isEqualTo(referencePressure);
        }
    }
}
