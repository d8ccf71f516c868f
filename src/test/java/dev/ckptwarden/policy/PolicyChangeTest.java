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
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/** Issue 15: what a configuration change's grace delays, as a pure function of decisions, entries and the clock. */
class PolicyChangeTest {
    private static final Instant NOW = CheckpointFixture.T0.plus(Duration.ofDays(1));
    private static final Duration GRACE = Duration.ofMinutes(5);
    private static final Retention KEEP_LAST_1 = new Retention(1, null, null, null);

    private static List<Registered> saves(int n) {
        List<Registered> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(ckpt("step=" + i + ".ckpt").step(i).at(i).bytes(100).resumable(true).build());
        }
        return out;
    }

    private static Set<String> all(List<Registered> cks) {
        Set<String> paths = new HashSet<>();
        cks.forEach(c -> paths.add(c.path().toString()));
        return paths;
    }

    private static String path(int step) {
        return CheckpointFixture.pathOf("step=" + step + ".ckpt").toString();
    }

    @Test
    void evictionsThePreviousConfigurationKeptWaitTheGrace() {
        List<Registered> cks = saves(3);
        Map<String, Instant> waiting = PolicyChange.waiting(RetentionPolicy.decide(cks, KEEP_LAST_1, NOW), all(cks),
                Map.of(), NOW, GRACE);
        assertThat(waiting).isEqualTo(Map.of(path(1), NOW.plus(GRACE), path(2), NOW.plus(GRACE)));
    }

    @Test
    void agentStartIsNoChangeButKeepsWhatAlreadyWaited() {
        List<Registered> cks = saves(3);
        List<Decision> after = RetentionPolicy.decide(cks, KEEP_LAST_1, NOW);
        assertThat(PolicyChange.waiting(after, null, Map.of(), NOW, GRACE)).isEmpty();
        assertThat(PolicyChange.waiting(after, null, Map.of(path(1), NOW.plusSeconds(60)), NOW, GRACE))
                .isEqualTo(Map.of(path(1), NOW.plusSeconds(60)));
    }

    @Test
    void aSecondEditKeepsTheFirstTimeAndARevertCancels() {
        List<Registered> cks = saves(3);
        Map<String, Instant> first = Map.of(path(1), NOW.plusSeconds(60), path(2), NOW.plusSeconds(60));
        Set<String> keptByKeepLast1 = Set.of(path(3));
        assertThat(PolicyChange.waiting(RetentionPolicy.decide(cks, KEEP_LAST_1, NOW), keptByKeepLast1, first, NOW, GRACE))
                .isEqualTo(first);
        assertThat(PolicyChange.waiting(RetentionPolicy.decide(cks, null, NOW), keptByKeepLast1, first, NOW, GRACE))
                .isEmpty();
    }

    @Test
    void expiredEntriesAreDroppedAndAShorterGraceShortensTheWait() {
        List<Registered> cks = saves(3);
        List<Decision> after = RetentionPolicy.decide(cks, KEEP_LAST_1, NOW);
        assertThat(PolicyChange.waiting(after, null, Map.of(path(1), NOW), NOW, GRACE)).isEmpty();
        assertThat(PolicyChange.waiting(after, null, Map.of(path(1), NOW.plus(Duration.ofHours(1))), NOW, GRACE))
                .isEqualTo(Map.of(path(1), NOW.plus(GRACE)));
        assertThat(PolicyChange.waiting(after, all(cks), Map.of(path(1), NOW.plusSeconds(60)), NOW, Duration.ZERO))
                .isEmpty();
    }

    @Test
    void waitingEvictionStaysAnEvictionWithItsTimeUntilTheTimeComes() {
        List<Registered> cks = saves(2);
        PolicyChange change = new PolicyChange(Map.of(path(1), NOW.plusSeconds(300)), ZoneOffset.UTC);
        Decision waiting = Decisions.byName(change.apply(RetentionPolicy.decide(cks, KEEP_LAST_1, NOW), NOW))
                .get("step=1.ckpt");
        assertThat(waiting.verdict()).isEqualTo(Verdict.EVICT);
        assertThat(waiting.evictsNow()).isFalse();
        assertThat(waiting.notBefore()).isEqualTo(NOW.plusSeconds(300));
        assertThat(waiting.reasons()).extracting(Reason::text).contains("policy change grace: evicted at 10:05:00");

        Decision due = Decisions.byName(change.apply(RetentionPolicy.decide(cks, KEEP_LAST_1, NOW.plusSeconds(300)),
                NOW.plusSeconds(300))).get("step=1.ckpt");
        assertThat(due.evictsNow()).isTrue();
        assertThat(due.reasons()).extracting(Reason::text).containsExactly("evictable: kept by no rule");
    }

    @Test
    void quotaTakesAWaitingEvictionAtOnceAndCountsItWhileItWaits() {
        RootConfig root = new RootConfig("a", "/data/ckpt", Layout.AUTO, List.of(), KEEP_LAST_1, new Quota(250L, null),
                new DiskWatermark(null, null), Action.DELETE, null, List.of());
        List<Registered> cks = saves(3);
        PolicyChange change = new PolicyChange(Map.of(path(1), NOW.plusSeconds(300), path(2), NOW.plusSeconds(300)),
                ZoneOffset.UTC);
        List<Decision> decisions = change.apply(RetentionPolicy.decide(cks, KEEP_LAST_1, NOW), NOW);
        PressurePlanner.Plan p = PressurePlanner.plan(List.of(new PressurePlanner.RootInput(root, decisions)),
                10_000, 10_000, 0);
        // 300 bytes on disk, 250 allowed: the oldest goes now for the quota; the other waits.
        assertThat(p.evictions()).extracting(e -> e.checkpoint().name() + ":" + e.cause().id())
                .containsExactly("step=1.ckpt:quota");
    }

    @Test
    void timeOnAnotherDayShowsTheDate() {
        assertThat(PolicyChange.at(NOW.plus(Duration.ofDays(1)), NOW, ZoneOffset.UTC)).isEqualTo("2024-01-11 10:00:00");
    }
}
