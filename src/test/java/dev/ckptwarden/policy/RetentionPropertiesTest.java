package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.T0;
import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/** Invariants of retention over random runs and random configurations. */
class RetentionPropertiesTest {

    /** One generated checkpoint; {@code alias} is -1 (none), an index into the run, or {@code size} (a missing target). */
    record Spec(Long step, Integer epoch, Double loss, CheckpointState state, Boolean resumable, boolean pinned,
            int minute, int alias, boolean symlink) {
    }

    /** A generated run and which of its checkpoints are symbolic links. */
    record Run(List<Registered> checkpoints, Set<Path> links) {
        Predicate<Registered> isLink() {
            return c -> links.contains(c.path());
        }
    }

    @Provide
    Arbitrary<Run> runs() {
        Arbitrary<Long> step = Arbitraries.of(0L, 100L, 500L, 1000L, 1500L, 2000L, 5000L).injectNull(0.3);
        Arbitrary<Integer> epoch = Arbitraries.integers().between(0, 10).injectNull(0.4);
        Arbitrary<Double> loss = Arbitraries.of(0.1, 0.2, 0.2, 0.5, 1.0, Double.NaN, Double.POSITIVE_INFINITY)
                .injectNull(0.2);
        Arbitrary<CheckpointState> state = Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.just(CheckpointState.COMPLETE)),
                Tuple.of(1, Arbitraries.just(CheckpointState.WRITING)),
                Tuple.of(1, Arbitraries.just(CheckpointState.CORRUPT)));
        Arbitrary<Boolean> resumable = Arbitraries.of(true, false).injectNull(0.3);
        Arbitrary<Boolean> rare = Arbitraries.integers().between(0, 9).map(i -> i == 0);
        Arbitrary<Integer> minute = Arbitraries.integers().between(0, 1000);
        Arbitrary<Integer> alias = Arbitraries.integers().between(-8, 13);
        Arbitrary<Spec> spec = Combinators.combine(step, epoch, loss, state, resumable, rare, minute, alias)
                .flatAs((s, e, l, st, r, p, m, a) -> rare.map(link -> new Spec(s, e, l, st, r, p, m, a, link)));
        return spec.list().ofMaxSize(12).map(RetentionPropertiesTest::build);
    }

    private static Run build(List<Spec> specs) {
        List<Registered> out = new ArrayList<>();
        Set<Path> links = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            CheckpointFixture f = ckpt("c" + i + ".ckpt").at(s.minute()).state(s.state()).resumable(s.resumable());
            if (s.step() != null) {
                f.step(s.step());
            }
            if (s.epoch() != null) {
                f.epoch(s.epoch());
            }
            if (s.loss() != null) {
                f.metric("val_loss", s.loss());
            }
            if (s.pinned()) {
                f.pinned("generated");
            }
            if (s.alias() >= 0 && s.alias() < specs.size()) {
                f.aliasOf("c" + s.alias() + ".ckpt");
            } else if (s.alias() >= specs.size()) {
                f.aliasOfPath(Path.of("/elsewhere/missing.ckpt"));
            }
            Registered c = f.build();
            if (s.symlink()) {
                links.add(c.path());
            }
            out.add(c);
        }
        return new Run(out, links);
    }

    @Provide
    Arbitrary<Retention> retentions() {
        Arbitrary<Integer> keepLast = Arbitraries.integers().between(0, 4).injectNull(0.4);
        Arbitrary<KeepBest> keepBest = Combinators.combine(Arbitraries.integers().between(0, 3),
                        Arbitraries.of(KeepBest.Mode.class))
                .as((k, mode) -> new KeepBest(k, "val_loss", mode)).injectNull(0.4);
        Arbitrary<KeepEvery> keepEvery = Arbitraries.oneOf(
                Arbitraries.of(100L, 1000L, 5000L).map(n -> new KeepEvery(n, null)),
                Arbitraries.integers().between(1, 5).map(n -> new KeepEvery(null, n))).injectNull(0.5);
        Arbitrary<Duration> keepWithin = Arbitraries.integers().between(0, 600).map(Duration::ofMinutes).injectNull(0.5);
        return Combinators.combine(keepLast, keepBest, keepEvery, keepWithin).as(Retention::new);
    }

    /**
     * The protected set, computed here from the contract rather than from the implementation. It
     * takes only the newest-first order from the decisions (itself checked by the determinism
     * property and the example tests).
     */
    private static Set<Path> expectedProtected(List<Decision> decisions, Retention r, Run run) {
        Map<Path, Registered> byPath = new HashMap<>();
        run.checkpoints().forEach(c -> byPath.put(c.path(), c));
        Set<Path> boundAliases = new HashSet<>();
        Set<Path> out = new HashSet<>();
        for (Registered c : run.checkpoints()) {
            if (c.aliasOf() != null && byPath.containsKey(c.aliasOf()) && !c.aliasOf().equals(c.path())) {
                boundAliases.add(c.path());
                out.add(c.aliasOf());
                out.add(c.path()); // kept with its target, never under pressure
            }
            if (c.pinned() || c.state() != CheckpointState.COMPLETE || run.links().contains(c.path())) {
                out.add(c.path());
            }
        }
        List<Registered> candidates = decisions.stream().map(Decision::checkpoint)
                .filter(c -> c.isComplete() && !boundAliases.contains(c.path()) && !run.links().contains(c.path()))
                .toList();
        candidates.stream().findFirst().ifPresent(c -> out.add(c.path()));
        candidates.stream().filter(c -> Boolean.TRUE.equals(c.resumable())).findFirst()
                .ifPresent(c -> out.add(c.path()));
        if (r != null && r.keepBest() != null) {
            double sign = r.keepBest().mode() == KeepBest.Mode.MIN ? 1 : -1;
            candidates.stream()
                    .filter(c -> c.metrics().get("val_loss") != null && Double.isFinite(c.metrics().get("val_loss")))
                    .reduce((best, c) -> sign * c.metrics().get("val_loss") < sign * best.metrics().get("val_loss")
                            ? c : best)
                    .ifPresent(c -> out.add(c.path()));
        }
        return out;
    }

    private static boolean isKeepReason(Reason reason) {
        return switch (reason.rule()) {
            case PROTECTED, KEEP_LAST, KEEP_BEST, MILESTONE, KEEP_WITHIN, ALIAS_OF, WATCH_ONLY -> true;
            case EVICTABLE, POLICY_CHANGE_GRACE, PRESSURE -> false;
        };
    }

    @Property(tries = 400)
    void protectedSetIsNeverEvictedNorOfferedUnderPressure(@ForAll("runs") Run run,
            @ForAll("retentions") Retention retention, @ForAll @IntRange(min = 0, max = 1200) int nowMinute) {
        Instant now = T0.plusSeconds(60L * nowMinute);
        List<Decision> decisions = RetentionPolicy.decide(run.checkpoints(), retention, now, run.isLink());
        Set<Path> inPressure = RetentionPolicy.pressureOrder(decisions).stream()
                .map(c -> c.checkpoint().path()).collect(Collectors.toSet());

        assertThat(decisions).hasSameSizeAs(run.checkpoints());
        for (Decision d : decisions) {
            if (expectedProtected(decisions, retention, run).contains(d.checkpoint().path())) {
                assertThat(d.verdict()).as(d.toString()).isEqualTo(Verdict.KEEP);
                assertThat(inPressure).as(d.toString()).doesNotContain(d.checkpoint().path());
            }
            if (d.verdict() == Verdict.EVICT) {
                assertThat(d.reasons()).as(d.toString()).noneMatch(RetentionPropertiesTest::isKeepReason);
                assertThat(inPressure).as("evicted ones are the first pressure candidates").contains(d.checkpoint().path());
            } else {
                assertThat(d.reasons()).as(d.toString()).anyMatch(RetentionPropertiesTest::isKeepReason);
            }
        }
    }

    @Property(tries = 200)
    void sameRunInAnyOrderGivesSameDecisions(@ForAll("runs") Run run, @ForAll("retentions") Retention retention,
            @ForAll long seed) {
        Instant now = T0.plusSeconds(60L * 500);
        List<Registered> shuffled = new ArrayList<>(run.checkpoints());
        Collections.shuffle(shuffled, new Random(seed));

        List<Decision> a = RetentionPolicy.decide(run.checkpoints(), retention, now, run.isLink());
        List<Decision> b = RetentionPolicy.decide(shuffled, retention, now, run.isLink());

        assertThat(b).isEqualTo(a);
        List<Decision> shuffledDecisions = new ArrayList<>(b);
        Collections.shuffle(shuffledDecisions, new Random(seed));
        assertThat(RetentionPolicy.pressureOrder(shuffledDecisions)).isEqualTo(RetentionPolicy.pressureOrder(a));
    }

    @Property(tries = 60) // two plans a try over a whole run: the costliest property here
    void clockSteppedBackEvictsNothingMore(@ForAll("runs") Run run, @ForAll("retentions") Retention retention,
            @ForAll @IntRange(min = 0, max = 1200) int nowMinute, @ForAll @IntRange(min = 0, max = 2000) int back) {
        Instant now = T0.plusSeconds(60L * nowMinute);
        Set<Path> evictedNow = evicted(RetentionPolicy.decide(run.checkpoints(), retention, now, run.isLink()));
        Set<Path> evictedEarlier = evicted(
                RetentionPolicy.decide(run.checkpoints(), retention, now.minusSeconds(60L * back), run.isLink()));

        assertThat(evictedEarlier).isSubsetOf(evictedNow);
    }

    private static Set<Path> evicted(List<Decision> decisions) {
        return decisions.stream().filter(d -> d.verdict() == Verdict.EVICT).map(d -> d.checkpoint().path())
                .collect(Collectors.toSet());
    }

    @Property(tries = 100)
    void withoutLinkInformationNoAliasIsEvicted(@ForAll("runs") Run run, @ForAll("retentions") Retention retention) {
        List<Decision> decisions = RetentionPolicy.decide(run.checkpoints(), retention, T0);

        assertThat(decisions).filteredOn(d -> d.checkpoint().aliasOf() != null)
                .allMatch(d -> d.verdict() == Verdict.KEEP);
    }
}
