package dev.ckptwarden.policy;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

class PressurePlannerTest {
    private static final Instant NOW = CheckpointFixture.T0.plus(Duration.ofDays(1));
    private static final Retention KEEP_LAST_5 = new Retention(5, null, null, null);

    private static RootConfig root(String name, Retention r, Long maxBytes, Long runMax, Long minFree) {
        return new RootConfig(name, "/data/" + name, Layout.AUTO, List.of(), r, new Quota(maxBytes, runMax),
                new DiskWatermark(minFree, null), Action.DELETE, null, List.of());
    }

    /** Ten saves of 100 bytes in one run, oldest first. */
    private static List<Registered> saves(String root, String run, int n, long bytes, int minuteOffset) {
        List<Registered> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(ckpt("step=" + i + ".ckpt").run("/data/" + root, run).step(i).at(minuteOffset + i).bytes(bytes)
                    .resumable(true).build());
        }
        return out;
    }

    private static PressurePlanner.RootInput input(RootConfig root, List<Registered> cks) {
        return new PressurePlanner.RootInput(root, RetentionPolicy.decide(cks, root.retention(), NOW));
    }

    private static List<String> names(PressurePlanner.Plan p, EvictionCause cause) {
        return p.evictions().stream().filter(e -> e.cause() == cause).map(e -> e.checkpoint().name()).toList();
    }

    @Test
    void rootQuotaEvictsOldestKeptBeyondPolicyUntilUnder() {
        RootConfig r = root("a", KEEP_LAST_5, 350L, null, null);
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(input(r, saves("a", "run", 8, 100, 0))), 10_000, 10_000, 0);
        assertThat(names(p, EvictionCause.POLICY)).containsExactlyInAnyOrder("step=1.ckpt", "step=2.ckpt", "step=3.ckpt");
        // 500 bytes left after policy, 350 allowed: two more of the keep_last tier, oldest first.
        assertThat(names(p, EvictionCause.QUOTA)).containsExactly("step=4.ckpt", "step=5.ckpt");
        assertThat(p.unresolved()).isEmpty();
    }

    @Test
    void runQuotaAppliesToEachRunSeparately() {
        RootConfig r = root("a", KEEP_LAST_5, null, 250L, null);
        List<Registered> cks = new ArrayList<>(saves("a", "big", 4, 100, 0));
        cks.addAll(saves("a", "small", 2, 100, 0));
        List<Decision> d = new ArrayList<>();
        d.addAll(RetentionPolicy.decide(cks.subList(0, 4), KEEP_LAST_5, NOW));
        d.addAll(RetentionPolicy.decide(cks.subList(4, 6), KEEP_LAST_5, NOW));
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(new PressurePlanner.RootInput(r, d)), 10_000, 10_000, 0);
        assertThat(p.evictions()).extracting(e -> e.checkpoint().run() + "/" + e.checkpoint().name() + ":" + e.cause().id())
                .containsExactly("big/step=1.ckpt:run_quota", "big/step=2.ckpt:run_quota");
    }

    @Test
    void diskWatermarkPlusNextSaveEvictsAheadOfTheSave() {
        RootConfig r = root("a", KEEP_LAST_5, null, null, 1000L);
        // 1000 free above the agent's working space, watermark 1000: fine now, but the next 300-byte save would cross it.
        long ws = PressurePlanner.WORKING_SPACE;
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(input(r, saves("a", "run", 5, 300, 0))), 1_000_000, 1000 + ws, 300);
        assertThat(names(p, EvictionCause.DISK_PRESSURE)).containsExactly("step=1.ckpt");
        // Room for the save and the working space: nothing to do; one byte less: one eviction.
        assertThat(PressurePlanner.plan(List.of(input(r, saves("a", "run", 5, 300, 0))), 1_000_000, 1300 + ws, 300)
                .evictions()).isEmpty();
        assertThat(names(PressurePlanner.plan(List.of(input(r, saves("a", "run", 5, 300, 0))), 1_000_000, 1299 + ws, 300),
                EvictionCause.DISK_PRESSURE)).containsExactly("step=1.ckpt");
        assertThat(PressurePlanner.plan(List.of(input(r, saves("a", "run", 5, 300, 0))), 100_000, 1000, 0).evictions()).isEmpty();
    }

    @Test
    void protectedCheckpointsAreNeverTakenAndThePlanSaysItIsUnresolved() {
        RootConfig r = root("a", new Retention(1, null, null, null), 50L, null, null);
        List<Registered> cks = saves("a", "run", 2, 100, 0);
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(input(r, cks)), 10_000, 10_000, 0);
        assertThat(names(p, EvictionCause.POLICY)).containsExactly("step=1.ckpt");
        assertThat(names(p, EvictionCause.QUOTA)).isEmpty();
        assertThat(p.unresolved()).containsKey("a");
        assertThat(p.unresolved().get("a")).contains("protected");
    }

    @Test
    void rootsSharingAFilesystemGiveUpTheLeastValuableFirst() {
        RootConfig a = root("a", KEEP_LAST_5, null, null, 500L);
        RootConfig b = root("b", KEEP_LAST_5, null, null, null);
        // b's saves are older than a's: under disk pressure b's oldest go first, whichever root needs the space.
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(input(a, saves("a", "run", 3, 100, 100)),
                input(b, saves("b", "run", 3, 100, 0))), 10_000, 300, 0);
        assertThat(p.evictions()).extracting(e -> e.checkpoint().root() + ":" + e.checkpoint().name())
                .containsExactly("/data/b:step=1.ckpt", "/data/b:step=2.ckpt");
    }

    @Test
    void watchOnlyRootsAreNeverEvictedFrom() {
        RootConfig watch = root("w", null, 10L, null, 10_000L);
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(input(watch, saves("w", "run", 3, 100, 0))), 100_000, 10, 0);
        assertThat(p.evictions()).isEmpty();
    }

    @Test
    void nextSaveIsTheTypicalSizeOfActiveRuns() {
        List<Registered> cks = new ArrayList<>(saves("a", "run", 5, 700, 0));
        cks.add(ckpt("odd.ckpt").run("/data/a", "run").step(6).at(6).bytes(10).build());
        long next = PressurePlanner.nextSaveBytes(cks, CheckpointFixture.T0.plus(Duration.ofMinutes(30)), Duration.ofHours(24));
        assertThat(next).isEqualTo(700);
        assertThat(PressurePlanner.nextSaveBytes(cks, CheckpointFixture.T0.plus(Duration.ofDays(3)), Duration.ofHours(24))).isZero();
    }
}
