package dev.ckptwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.DiskWatermark;
import dev.ckptwarden.config.KeepBest;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.Quota;
import dev.ckptwarden.config.Retention;
import dev.ckptwarden.config.RetentionOverride;
import dev.ckptwarden.config.RootConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which override applies to a run, and what the run's retention becomes. */
class EffectiveRetentionTest {

    private static final Retention ROOT = new Retention(3, new KeepBest(3, "val_loss", KeepBest.Mode.MIN), null,
            Duration.ofHours(24));

    private static RootConfig root(Retention retention, RetentionOverride... overrides) {
        return new RootConfig("/data/ckpt", "/data/ckpt", Layout.AUTO, List.of(), retention, Quota.NONE,
                DiskWatermark.NONE, Action.DELETE, null, List.of(overrides));
    }

    private static RetentionOverride keepLast(String glob, int n) {
        return new RetentionOverride(glob, new Retention(n, null, null, null));
    }

    /** The effective keep_last with the overrides in the given order and in reverse order, which must agree. */
    private static List<Integer> keepLastBothOrders(String runId, RetentionOverride... overrides) {
        List<RetentionOverride> reversed = new ArrayList<>(List.of(overrides));
        java.util.Collections.reverse(reversed);
        return List.of(
                RetentionPolicy.effectiveRetention(root(ROOT, overrides), runId).keepLast(),
                RetentionPolicy.effectiveRetention(root(ROOT, reversed.toArray(RetentionOverride[]::new)), runId)
                        .keepLast());
    }

    @Test
    void watchOnlyRootStaysWatchOnlyWhateverTheOverrides() {
        assertThat(RetentionPolicy.effectiveRetention(root(null, keepLast("**", 1)), "llada8b/sft")).isNull();
    }

    @Test
    void noMatchingOverrideGivesTheRootRetention() {
        assertThat(RetentionPolicy.effectiveRetention(root(ROOT, keepLast("llada8b/**", 5)), "gpt2/base"))
                .isEqualTo(ROOT);
    }

    @Test
    void overrideReplacesOnlyTheFieldsItSets() {
        Retention r = RetentionPolicy.effectiveRetention(root(ROOT, keepLast("llada8b/**", 5)), "llada8b/sft");

        assertThat(r).isEqualTo(new Retention(5, ROOT.keepBest(), null, Duration.ofHours(24)));
    }

    @Test
    void moreLiteralCharactersWinInEitherOrder() {
        assertThat(keepLastBothOrders("llada8b/sft/run1", keepLast("llada8b/**", 5), keepLast("llada8b/sft/**", 7)))
                .containsExactly(7, 7);
        assertThat(keepLastBothOrders("llada8b/sft", keepLast("**", 1), keepLast("llada8b/*", 2)))
                .containsExactly(2, 2);
    }

    @Test
    void fewerWildcardsWinOnEqualLiterals() {
        assertThat(keepLastBothOrders("runs/a", keepLast("runs/**", 1), keepLast("runs/*", 2))).containsExactly(2, 2);
        // [ab]* is two wildcards, ? and {a,b} one each: [ab]* never wins, the later of ? and {a,b} does
        assertThat(keepLastBothOrders("runs/a", keepLast("runs/?", 1), keepLast("runs/{a,b}", 2), keepLast("runs/[ab]*", 3)))
                .containsExactly(2, 1);
    }

    @Test
    void laterEntryWinsOnEqualSpecificity() {
        RootConfig root = root(ROOT, keepLast("exp?/r", 1), keepLast("?xp1/r", 2));
        RootConfig swapped = root(ROOT, keepLast("?xp1/r", 2), keepLast("exp?/r", 1));

        assertThat(RetentionPolicy.effectiveRetention(root, "exp1/r").keepLast()).isEqualTo(2);
        assertThat(RetentionPolicy.effectiveRetention(swapped, "exp1/r").keepLast()).isEqualTo(1);
    }

    @Test
    void overridesDoNotStack() {
        RootConfig root = root(ROOT,
                new RetentionOverride("llada8b/**", new Retention(null, null, null, Duration.ofHours(1))),
                keepLast("llada8b/sft/**", 9));

        Retention r = RetentionPolicy.effectiveRetention(root, "llada8b/sft/x");

        assertThat(r.keepLast()).isEqualTo(9);
        assertThat(r.keepWithin()).isEqualTo(Duration.ofHours(24));
    }

    @Test
    void doubleStarGlobDoesNotMatchTheBareDirectory() {
        RootConfig root = root(ROOT, keepLast("llada8b/**", 5));

        assertThat(RetentionPolicy.effectiveRetention(root, "llada8b").keepLast()).isEqualTo(3);
        assertThat(RetentionPolicy.effectiveRetention(root, "llada8b/a/b/c").keepLast()).isEqualTo(5);
    }

    @Test
    void invalidGlobNamesRootAndEntry() {
        RootConfig root = root(ROOT, keepLast("ok/**", 1), keepLast("bad[", 2));

        assertThatThrownBy(() -> RetentionPolicy.effectiveRetention(root, "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("root /data/ckpt: overrides[1].match: invalid glob \"bad[\"")
                .hasMessageNotContaining("\n");
    }

    @Test
    void specificityCountsLiteralsAndWildcards() {
        assertThat(GlobSpecificity.of("llada8b/**")).isEqualTo(new GlobSpecificity(8, 2));
        assertThat(GlobSpecificity.of("a\\*b/[xy]/{p,q}?")).isEqualTo(new GlobSpecificity(5, 3));
    }
}
