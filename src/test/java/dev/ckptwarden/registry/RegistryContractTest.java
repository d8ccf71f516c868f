package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.ckptwarden.registry.Checkpoints.T0;
import static dev.ckptwarden.registry.Checkpoints.complete;
import static dev.ckptwarden.registry.Checkpoints.everyFieldSet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * What every {@link Registry} promises, run against each implementation: the embedded SQLite one and
 * the shared PostgreSQL one must be interchangeable behind the interface.
 */
abstract class RegistryContractTest {

    protected final SettableClock clock = new SettableClock(T0.plus(Duration.ofHours(1)));
    protected Registry registry;

    /** A new, empty registry whose pin events and missing instants use {@code clock}. */
    protected abstract Registry openRegistry(SettableClock clock);

    /** What this registry's error messages name: the database file, or server and database. */
    protected abstract String location();

    @BeforeEach
    void open() {
        registry = openRegistry(clock);
    }

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void everyFieldRoundTripsIncludingNonFiniteMetrics() {
        Registered original = everyFieldSet();

        registry.upsert(List.of(original));

        assertThat(registry.byPath(original.key())).contains(original);
        assertThat(registry.list(null, null, false)).containsExactly(original);
        assertThat(registry.present(original.root())).containsExactly(Map.entry(original.key(), original));
        Registered back = registry.byPath(original.key()).orElseThrow();
        assertThat(back.metrics().get("train_loss")).isNaN();
        assertThat(back.metrics().get("ppl")).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(back.metrics().get("margin")).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(Double.doubleToRawLongBits(back.metrics().get("negative_zero")))
                .isEqualTo(Double.doubleToRawLongBits(-0.0));
    }

    @Test
    void presentRunCountsCountEachRunsPresentCheckpointsOfOneRootInStringOrder() {
        Registered gone = complete("r", "b", "old.ckpt", 1L);
        registry.upsert(List.of(complete("r", "b", "x.ckpt", 2L), complete("r", "b", "y.ckpt", 3L), gone,
                complete("r", "a", "z.ckpt", 1L), complete("other", "a", "w.ckpt", 1L)));
        registry.markGone(List.of(gone.key()), CheckpointState.DELETED, T0, "gone from disk");

        assertThat(registry.presentRunCounts("r")).containsExactly(Map.entry("a", 1), Map.entry("b", 2));
        assertThat(registry.presentRunCounts("none")).isEmpty();
    }

    @Test
    void presentInReadsThePresentCheckpointsOfTheNamedRunsOfOneRootOnly() {
        Registered gone = complete("r", "b", "old.ckpt", 1L);
        List<Registered> wanted = List.of(complete("r", "a", "z.ckpt", 1L), complete("r", "b", "x.ckpt", 2L));
        registry.upsert(List.of(wanted.get(0), wanted.get(1), gone, complete("r", "c", "v.ckpt", 1L),
                complete("other", "a", "w.ckpt", 1L)));
        registry.markGone(List.of(gone.key()), CheckpointState.DELETED, T0, "gone from disk");

        assertThat(registry.presentIn("r", List.of("a", "b", "missing"))).containsExactlyInAnyOrderElementsOf(wanted);
        assertThat(registry.presentIn("r", List.of())).isEmpty();
    }

    @Test
    void aForecastWindowOfSizeChangesIsTheRootsChangesInTimeOrderWithTheirTotalsBefore() {
        // Two roots on one file system, changes at shared instants (a pass stamps all it registers with its time).
        Instant t1 = T0.plus(Duration.ofHours(1));
        Instant t2 = T0.plus(Duration.ofHours(2));
        List<Registered> rows = new ArrayList<>();
        for (String root : List.of("r", "s")) {
            for (int i = 0; i < 6; i++) {
                Registered c = Checkpoints.withBytes(complete(root, "run-" + (i % 2), "c" + i + ".ckpt", (long) i), 100L * (i + 1));
                rows.add(c.withHistory(i < 2 ? T0 : t1, i < 2 ? T0 : t1));
            }
        }
        Registered alias = new Registered(new Checkpoint("r", "run-0", "last.ckpt", Checkpoints.pathOf("r", "run-0", "last.ckpt"),
                List.of(), Framework.LIGHTNING, CheckpointKind.FILE, null, 3L, Map.of(), 1000L, t1, true,
                rows.get(0).path(), List.of(), List.of(), "sig"), CheckpointState.COMPLETE, null, false, null, t1, t1);
        rows.add(alias);
        rows.add(complete("other", "a", "w.ckpt", 1L).withHistory(t1, t1));
        registry.upsert(rows);
        registry.markGone(List.of(rows.get(2).key(), rows.get(7).key()), CheckpointState.DELETED, t2, "gone from disk");
        registry.markGone(List.of(rows.get(3).key()), CheckpointState.DELETED, t1, "gone from disk");

        List<String> roots = List.of("s", "r");
        for (Instant from : List.of(T0.minusSeconds(1), T0, T0.plusSeconds(1), t1, t2)) {
            for (Instant to : List.of(t1, t2, t2.plusSeconds(1))) {
                // What the per-root lists say, merged in the roots' order and sorted stably by time.
                List<SizeChange> all = new ArrayList<>();
                roots.forEach(root -> all.addAll(registry.sizeChanges(root)));
                all.sort(java.util.Comparator.comparing(SizeChange::at));
                long before = all.stream().filter(c -> c.at().isBefore(from)).mapToLong(SizeChange::deltaBytes).sum();
                List<SizeChange> window = all.stream().filter(c -> !c.at().isBefore(from) && !c.at().isAfter(to)).toList();

                List<SizeChange> streamed = new ArrayList<>();
                registry.sizeChanges(roots, from, to, streamed::add);
                assertThat(streamed).as("from %s to %s", from, to).containsExactlyElementsOf(window);
                assertThat(registry.sizeChangeTotals(roots, from, to)).isEqualTo(new SizeChange.Totals(before, window.size()));
            }
        }
        assertThat(registry.sizeChangeTotals(List.of("none"), T0, t2)).isEqualTo(new SizeChange.Totals(0, 0));
    }

    @Test
    void settledRunsGiveEachPresentSignatureAndWhetherEveryVerdictIsSettledAndItsOwn() {
        Instant later = T0.plus(Duration.ofMinutes(5));
        Registered x = complete("r", "a", "x.ckpt", 1L);
        Registered y = complete("r", "a", "y.ckpt", 2L).withHistory(T0, later);
        Registered gone = complete("r", "a", "old.ckpt", 0L);
        Registered corrupt = complete("r", "d", "bad.ckpt", 1L).withState(CheckpointState.CORRUPT, T0, "truncated");
        Registered writing = complete("r", "b", "w.ckpt", 1L).withState(CheckpointState.WRITING, T0, null);
        Registered alias = complete("r", "c", "last.ckpt", 3L);
        alias = alias.withFacts(alias.facts().withAlias(complete("r", "c", "z.ckpt", 3L).path()));
        registry.upsert(List.of(x, y, gone, corrupt, writing, alias, complete("other", "a", "w.ckpt", 1L)));
        registry.markGone(List.of(gone.key()), CheckpointState.DELETED, later.plusSeconds(60), "gone from disk");

        SettledRun a = registry.settledRun("r", "a");
        assertThat(a.signatures()).containsExactlyInAnyOrderEntriesOf(Map.of(x.key(), "sig-x.ckpt", y.key(), "sig-y.ckpt"));
        assertThat(a.settled()).isTrue();
        assertThat(a.latestStateSince()).isEqualTo(later);
        assertThat(registry.settledRun("r", "d").settled()).as("a corrupt verdict is settled").isTrue();
        assertThat(registry.settledRun("r", "b").settled()).as("a save still writing").isFalse();
        assertThat(registry.settledRun("r", "c").settled()).as("an alias: its verdict is its target's").isFalse();
        assertThat(registry.settledRun("r", "none").signatures()).isEmpty();
        Map<String, SettledRun> all = registry.settledRuns("r");
        assertThat(all).containsOnlyKeys("a", "b", "c", "d");
        for (String run : all.keySet()) {
            assertThat(all.get(run)).isEqualTo(registry.settledRun("r", run));
        }
        assertThat(registry.settledRuns("none")).isEmpty();
    }

    @Test
    void sizeChangesAreEachCheckpointsArrivalAndDepartureInListOrderWithoutAliases() {
        Registered kept = complete("r", "a", "x.ckpt", 2L);
        Registered gone = complete("r", "a", "old.ckpt", 1L);
        Registered alias = new Registered(new Checkpoint("r", "a", "last.ckpt", Checkpoints.pathOf("r", "a", "last.ckpt"),
                List.of(), Framework.LIGHTNING, CheckpointKind.FILE, null, 3L, Map.of(), 1000L, T0, true, kept.path(),
                List.of(), List.of(), "sig"), CheckpointState.COMPLETE, null, false, null, T0, T0);
        registry.upsert(List.of(kept, gone, alias, complete("other", "a", "w.ckpt", 1L)));
        Instant later = T0.plus(Duration.ofHours(1));
        registry.markGone(List.of(gone.key()), CheckpointState.DELETED, later, "gone from disk");

        assertThat(registry.sizeChanges("r")).containsExactly(new SizeChange(T0, 1000L), new SizeChange(later, -1000L),
                new SizeChange(T0, 1000L));
        assertThat(registry.latestStateSince("r")).isEqualTo(T0);
        assertThat(registry.latestStateSince("none")).isNull();
    }

    @Test
    void nullableFieldsRoundTripAsNull() {
        Registered sparse = new Registered(new Checkpoint("r", ".", "model.bin", Path.of("/data/r/model.bin"),
                List.of(), Framework.UNKNOWN, CheckpointKind.FILE, null, null, Map.of(), 0L, null, null, null,
                List.of(), List.of(), null), CheckpointState.WRITING, null, false, null, T0, T0);

        registry.upsert(List.of(sparse));

        Registered back = registry.byPath("/data/r/model.bin").orElseThrow();
        assertThat(back).isEqualTo(sparse);
        assertThat(back.epoch()).isNull();
        assertThat(back.step()).isNull();
        assertThat(back.resumable()).isNull();
        assertThat(back.aliasOf()).isNull();
        assertThat(back.modified()).isNull();
    }

    @Test
    void missingFirstSeenAndStateSinceAreStampedWithTheRegistryClock() {
        Registered unstamped = complete("r", "run", "a.ckpt", 1L).withHistory(null, null);

        registry.upsert(List.of(unstamped));

        Registered back = registry.byPath(unstamped.key()).orElseThrow();
        assertThat(back.firstSeen()).isEqualTo(clock.instant());
        assertThat(back.stateSince()).isEqualTo(clock.instant());
    }

    @Test
    void upsertKeepsFirstSeenAndPinOfAPresentRow() {
        Registered first = complete("r", "run", "a.ckpt", 100L);
        registry.upsert(List.of(first));
        assertThat(registry.pin(first.key(), true, "best so far")).isTrue();

        Registered rescanned = Checkpoints.withBytes(first, 2000L)
                .withHistory(T0.plus(Duration.ofMinutes(5)), T0.plus(Duration.ofMinutes(5)));
        registry.upsert(List.of(rescanned));

        Registered back = registry.byPath(first.key()).orElseThrow();
        assertThat(back.bytes()).isEqualTo(2000L);
        assertThat(back.firstSeen()).isEqualTo(T0);
        assertThat(back.pinned()).isTrue();
        assertThat(back.pinReason()).isEqualTo("best so far");
    }

    @Test
    void stateSinceStaysWhileTheStateDoesAndAChangeIsRecorded() {
        Instant t1 = T0.plus(Duration.ofSeconds(10));
        Instant t2 = T0.plus(Duration.ofSeconds(20));
        Registered writing = complete("r", "run", "a.ckpt", 100L).withState(CheckpointState.WRITING, T0, null);
        registry.upsert(List.of(writing));
        registry.upsert(List.of(writing.withState(CheckpointState.WRITING, t1, null)));
        assertThat(registry.byPath(writing.key()).orElseThrow().stateSince()).isEqualTo(T0);

        registry.upsert(List.of(writing.withState(CheckpointState.COMPLETE, t2, "settled")));

        Registered back = registry.byPath(writing.key()).orElseThrow();
        assertThat(back.state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(back.stateSince()).isEqualTo(t2);
        assertThat(back.note()).isEqualTo("settled");
        assertThat(registry.history(writing.key()))
                .extracting(HistoryEvent::at, HistoryEvent::event, HistoryEvent::detail)
                .containsExactly(
                        tuple(T0, "seen", "writing"),
                        tuple(t2, "complete", "was writing: settled"));
    }

    @Test
    void repeatedUpsertOfAnUnchangedCheckpointAddsNoHistory() {
        Registered c = complete("r", "run", "a.ckpt", 100L);
        registry.upsert(List.of(c));
        registry.upsert(List.of(c));
        registry.upsert(List.of(c));

        assertThat(registry.history(c.key())).extracting(HistoryEvent::event).containsExactly("seen");
    }

    @Test
    void markGoneSetsStateAndReasonAndAppendsHistory() {
        Registered a = complete("r", "run", "a.ckpt", 100L);
        Registered b = complete("r", "run", "b.ckpt", 200L);
        registry.upsert(List.of(a, b));
        Instant at = T0.plus(Duration.ofMinutes(30));

        registry.markGone(List.of(a.key(), "/not/registered.ckpt"), CheckpointState.DELETED, at, "policy");

        Registered gone = registry.byPath(a.key()).orElseThrow();
        assertThat(gone.state()).isEqualTo(CheckpointState.DELETED);
        assertThat(gone.stateSince()).isEqualTo(at);
        assertThat(gone.note()).isEqualTo("policy");
        assertThat(registry.history(a.key()))
                .extracting(HistoryEvent::at, HistoryEvent::event, HistoryEvent::detail)
                .containsExactly(tuple(T0, "seen", "complete"), tuple(at, "deleted", "policy"));
        assertThat(registry.present("r")).containsOnlyKeys(b.key());
        assertThat(registry.list("r", null, false)).extracting(Registered::name).containsExactly("b.ckpt");
        assertThat(registry.list("r", null, true)).extracting(Registered::name).containsExactly("a.ckpt", "b.ckpt");
        assertThat(registry.byPath("/not/registered.ckpt")).isEmpty();
    }

    @Test
    void markingAGoneCheckpointGoneAgainChangesNothing() {
        Registered a = complete("r", "run", "a.ckpt", 100L);
        registry.upsert(List.of(a));
        Instant first = T0.plus(Duration.ofMinutes(1));
        registry.markGone(List.of(a.key()), CheckpointState.OFFLOADED, first, "quota");

        registry.markGone(List.of(a.key()), CheckpointState.OFFLOADED, first.plusSeconds(60), "gone from disk");

        assertThat(registry.byPath(a.key()).orElseThrow().stateSince()).isEqualTo(first);
        assertThat(registry.history(a.key())).extracting(HistoryEvent::event).containsExactly("seen", "offloaded");
    }

    @Test
    void markGoneRefusesAPresentState() {
        assertThatThrownBy(() -> registry.markGone(List.of("/x"), CheckpointState.COMPLETE, T0, "why"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("complete");
    }

    @Test
    void aCheckpointReappearingAtADeletedPathReplacesTheRowAndHistoryKeepsBothStories() {
        Registered old = complete("r", "run", "last.ckpt", 100L);
        registry.upsert(List.of(old));
        clock.set(T0.plus(Duration.ofMinutes(1)));
        registry.pin(old.key(), true, "keep");
        Instant deletedAt = T0.plus(Duration.ofMinutes(2));
        registry.markGone(List.of(old.key()), CheckpointState.DELETED, deletedAt, "policy");
        Instant t2 = T0.plus(Duration.ofHours(2));

        Registered newcomer = Checkpoints.withBytes(complete("r", "run", "last.ckpt", 900L), 5000L).withHistory(t2, t2);
        registry.upsert(List.of(newcomer));

        Registered row = registry.byPath(old.key()).orElseThrow();
        assertThat(row).isEqualTo(newcomer);
        assertThat(row.firstSeen()).isEqualTo(t2);
        assertThat(row.pinned()).isFalse();
        assertThat(registry.present("r")).containsOnlyKeys(old.key());
        assertThat(registry.history(old.key()))
                .extracting(HistoryEvent::at, HistoryEvent::event, HistoryEvent::detail)
                .containsExactly(
                        tuple(T0, "seen", "complete"),
                        tuple(T0.plus(Duration.ofMinutes(1)), "pinned", "keep"),
                        tuple(deletedAt, "deleted", "policy"),
                        tuple(t2, "reappeared", "complete, was deleted"));
    }

    @Test
    void theSameFilePutBackKeepsItsCompletionTimeEvenThroughWritingAndANewSaveDoesNot() {
        Registered saved = complete("r", "run", "epoch=1.ckpt", 100L); // complete at T0, modified T0, 1000 bytes
        registry.upsert(List.of(saved));
        Instant goneAt = T0.plus(Duration.ofHours(1));
        registry.markGone(List.of(saved.key()), CheckpointState.DELETED, goneAt, "gone from disk");
        Instant back = T0.plus(Duration.ofHours(2));
        // Put back (same size, same modification time), first seen writing (a directory still being copied in).
        registry.upsert(List.of(saved.withState(CheckpointState.WRITING, back, null).withHistory(back, back)));
        Registered writing = registry.byPath(saved.key()).orElseThrow();
        assertThat(writing.firstSeen()).as("the same checkpoint: first seen when it was first seen").isEqualTo(T0);
        Instant settled = back.plus(Duration.ofMinutes(1));
        registry.upsert(List.of(saved.withHistory(settled, settled)));
        assertThat(registry.byPath(saved.key()).orElseThrow().stateSince())
                .as("complete again: its completion time is the one it had").isEqualTo(T0);

        // The job writes that name again: a new modification time is a new save, complete when it is seen so.
        registry.markGone(List.of(saved.key()), CheckpointState.DELETED, settled.plusSeconds(60), "policy");
        Instant resaved = settled.plus(Duration.ofHours(1));
        registry.upsert(List.of(Checkpoints.withOrdering(saved, null, 100L, resaved).withHistory(resaved, resaved)));
        Registered row = registry.byPath(saved.key()).orElseThrow();
        assertThat(row.firstSeen()).isEqualTo(resaved);
        assertThat(row.stateSince()).isEqualTo(resaved);
        assertThat(registry.history(saved.key())).extracting(HistoryEvent::event, HistoryEvent::detail).containsSubsequence(
                tuple("reappeared", "writing, was deleted; " + UpsertMerge.PUT_BACK),
                tuple("complete", "was writing"),
                tuple("reappeared", "complete, was deleted"));
    }

    @Test
    void pinAndUnpinRecordEventsAndUnknownPathsReturnFalse() {
        Registered a = complete("r", "run", "a.ckpt", 100L);
        registry.upsert(List.of(a));

        assertThat(registry.pin(a.key(), true, "release 1.0")).isTrue();
        assertThat(registry.byPath(a.key()).orElseThrow().pinReason()).isEqualTo("release 1.0");
        clock.advance(Duration.ofMinutes(1));
        assertThat(registry.pin(a.key(), false, "superseded")).isTrue();

        Registered back = registry.byPath(a.key()).orElseThrow();
        assertThat(back.pinned()).isFalse();
        assertThat(back.pinReason()).isNull();
        assertThat(registry.history(a.key()))
                .extracting(HistoryEvent::event, HistoryEvent::detail)
                .containsExactly(tuple("seen", "complete"), tuple("pinned", "release 1.0"),
                        tuple("unpinned", "superseded"));
        assertThat(registry.pin("/data/r/run/nothing.ckpt", true, "x")).isFalse();
        assertThat(registry.history("/data/r/run/nothing.ckpt")).isEmpty();
    }

    @Test
    void recordEventAppendsInTimeOrderAndRefusesUnknownPaths() {
        Registered a = complete("r", "run", "a.ckpt", 100L);
        registry.upsert(List.of(a));
        Instant later = T0.plus(Duration.ofHours(3));
        Instant earlier = T0.plus(Duration.ofHours(2));

        registry.recordEvent(new HistoryEvent(a.key(), later, "evicted", "quota: root over 500 GiB"));
        registry.recordEvent(new HistoryEvent(a.key(), earlier, "evicting", "quota"));

        assertThat(registry.history(a.key())).extracting(HistoryEvent::event)
                .containsExactly("seen", "evicting", "evicted");
        assertThatThrownBy(() -> registry.recordEvent(new HistoryEvent("/nowhere.ckpt", T0, "evicted", null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/nowhere.ckpt");
    }

    @Test
    void listOrdersByRootRunStepWithMissingStepsFirstThenEpochModifiedName() {
        List<Registered> all = new ArrayList<>(List.of(
                Checkpoints.withOrdering(complete("b", "run", "b-first.ckpt", 1L), null, 1L, T0),
                Checkpoints.withOrdering(complete("a", "run2", "r2.ckpt", 1L), null, 1L, T0),
                Checkpoints.withOrdering(complete("a", "run", "last.ckpt", null), null, null, T0.plusSeconds(9)),
                Checkpoints.withOrdering(complete("a", "run", "best.ckpt", null), null, null, T0.plusSeconds(9)),
                Checkpoints.withOrdering(complete("a", "run", "old-unparsed.ckpt", null), null, null, T0),
                Checkpoints.withOrdering(complete("a", "run", "no-mtime.ckpt", null), null, null, null),
                Checkpoints.withOrdering(complete("a", "run", "step-20-e2.ckpt", 20L), 2, 20L, T0),
                Checkpoints.withOrdering(complete("a", "run", "step-20-e1.ckpt", 20L), 1, 20L, T0),
                Checkpoints.withOrdering(complete("a", "run", "step-20-no-epoch.ckpt", 20L), null, 20L, T0),
                Checkpoints.withOrdering(complete("a", "run", "step-3.ckpt", 3L), 0, 3L, T0),
                Checkpoints.withOrdering(complete("a", "run", "step-100.ckpt", 100L), 9, 100L, T0)));
        Collections.shuffle(all, new Random(7));

        registry.upsert(all);

        assertThat(registry.list(null, null, false)).extracting(Registered::root, Registered::name).containsExactly(
                tuple("a", "no-mtime.ckpt"),
                tuple("a", "old-unparsed.ckpt"),
                tuple("a", "best.ckpt"),
                tuple("a", "last.ckpt"),
                tuple("a", "step-3.ckpt"),
                tuple("a", "step-20-no-epoch.ckpt"),
                tuple("a", "step-20-e1.ckpt"),
                tuple("a", "step-20-e2.ckpt"),
                tuple("a", "step-100.ckpt"),
                tuple("a", "r2.ckpt"),
                tuple("b", "b-first.ckpt"));
        assertThat(registry.list("a", "run2", false)).extracting(Registered::name).containsExactly("r2.ckpt");
        assertThat(registry.list(null, "run", false)).extracting(Registered::root).containsOnly("a", "b").hasSize(10);
        assertThat(registry.list("c", null, true)).isEmpty();
        assertThat(registry.present("a").keySet()).hasSize(10);
    }

    @Test
    void aLaterDuplicateInOneUpsertWins() {
        Registered c = complete("r", "run", "a.ckpt", 100L);

        registry.upsert(List.of(Checkpoints.withBytes(c, 1L), Checkpoints.withBytes(c, 2L)));

        assertThat(registry.byPath(c.key()).orElseThrow().bytes()).isEqualTo(2L);
        assertThat(registry.history(c.key())).hasSize(1);
    }

    @Test
    void upsertIsOneTransaction() {
        Registered good = complete("r", "run", "good.ckpt", 1L);
        Registered rootless = new Registered(new Checkpoint(null, "run", "bad.ckpt", Path.of("/data/r/run/bad.ckpt"),
                List.of(), Framework.TORCH, CheckpointKind.FILE, null, null, Map.of(), 1L, T0, null, null, List.of(),
                List.of(), null), CheckpointState.COMPLETE, null, false, null, T0, T0);

        assertThatThrownBy(() -> registry.upsert(List.of(good, rootless)))
                .isInstanceOf(RegistryException.class)
                .hasMessageContaining(location())
                .hasMessageContaining("upsert");

        assertThat(registry.byPath(good.key())).isEmpty();
        registry.upsert(List.of(good));
        assertThat(registry.byPath(good.key())).isPresent();
    }

    @Test
    void concurrentCallersSeeAConsistentRegistry() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                String run = "run" + t;
                tasks.add(() -> {
                    for (int i = 0; i < 50; i++) {
                        List<Registered> batch = new ArrayList<>();
                        for (int j = 0; j < 4; j++) {
                            batch.add(complete("r", run, "c" + i + "-" + j + ".ckpt", (long) i * 4 + j));
                        }
                        registry.upsert(batch);
                        registry.pin(batch.get(0).key(), true, "t");
                        registry.list("r", run, true);
                    }
                    return registry.list("r", run, false).size();
                });
            }
            List<Integer> sizes = new ArrayList<>();
            for (Future<Integer> done : pool.invokeAll(tasks)) {
                sizes.add(done.get());
            }
            assertThat(sizes).containsOnly(200);
        } finally {
            pool.shutdown();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(registry.present("r")).hasSize(800);
        assertThat(registry.list("r", null, false)).filteredOn(Registered::pinned).hasSize(200);
    }

    @Test
    void listSortsNamesInByteOrderWhateverTheLocale() {
        List<Registered> all = new ArrayList<>();
        for (String name : List.of("é.ckpt", "a.ckpt", "_x.ckpt", "B.ckpt", "Z.ckpt")) {
            all.add(Checkpoints.withOrdering(complete("r", "run", name, null), null, null, T0));
        }

        registry.upsert(all);

        assertThat(registry.list("r", "run", false)).extracting(Registered::name)
                .containsExactly("B.ckpt", "Z.ckpt", "_x.ckpt", "a.ckpt", "é.ckpt");
    }

    @Test
    void aColdScanSizedBatchKeepsPinsAndFirstSeenOfKnownRows() {
        List<Registered> first = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            first.add(complete("r", "run" + (i % 3), "c" + i + ".ckpt", (long) i));
        }
        registry.upsert(first);
        assertThat(registry.pin(first.get(7).key(), true, "keep seven")).isTrue();
        registry.markGone(List.of(first.get(8).key()), CheckpointState.DELETED, T0.plusSeconds(5), "policy");
        Instant later = T0.plus(Duration.ofHours(1));

        List<Registered> again = new ArrayList<>();
        for (Registered c : first) {
            again.add(Checkpoints.withBytes(c, 42L).withHistory(later, later));
        }
        registry.upsert(again);

        Registered pinned = registry.byPath(first.get(7).key()).orElseThrow();
        assertThat(pinned.pinned()).isTrue();
        assertThat(pinned.pinReason()).isEqualTo("keep seven");
        assertThat(pinned.firstSeen()).isEqualTo(T0);
        assertThat(pinned.bytes()).isEqualTo(42L);
        assertThat(registry.history(first.get(8).key())).extracting(HistoryEvent::event)
                .containsExactly("seen", "deleted", "reappeared");
        assertThat(registry.present("r")).hasSize(300);
    }

    @Test
    void aClosedRegistryRefusesWork() {
        registry.close();
        registry.close();

        assertThatThrownBy(() -> registry.list(null, null, true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void byPathsReadsManyRowsAtOnceInAnyStateAndLeavesUnknownPathsOut() {
        List<Registered> many = new java.util.ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            many.add(complete("r", "run", "s" + i + ".ckpt", 100L + i));
        }
        registry.upsert(many);
        registry.markGone(List.of(many.get(7).key()), CheckpointState.DELETED, T0.plusSeconds(60), "policy");
        List<String> asked = new java.util.ArrayList<>();
        many.forEach(c -> asked.add(c.key()));
        asked.add("/not/registered.ckpt");

        Map<String, Registered> found = registry.byPaths(asked);

        assertThat(found).hasSize(1200).doesNotContainKey("/not/registered.ckpt");
        assertThat(found.get(many.get(7).key()).state()).isEqualTo(CheckpointState.DELETED);
        for (Registered c : many.subList(0, 20)) {
            assertThat(found.get(c.key())).isEqualTo(registry.byPath(c.key()).orElseThrow());
        }
        assertThat(registry.byPaths(List.of())).isEmpty();
    }
}
