package dev.ckptwarden.policy;

import static dev.ckptwarden.policy.CheckpointFixture.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ckptwarden.registry.Recency;
import dev.ckptwarden.registry.Registered;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** "Newest" is a total order that does not depend on the order the registry lists checkpoints in. */
class RecencyTest {

    private static List<String> newestFirst(List<Registered> run) {
        return Recency.newestFirst(run).stream().map(Registered::name).toList();
    }

    private static List<List<Registered>> permutations(List<Registered> items) {
        if (items.isEmpty()) {
            return List.of(List.of());
        }
        List<List<Registered>> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            List<Registered> rest = new ArrayList<>(items);
            Registered head = rest.remove(i);
            for (List<Registered> tail : permutations(rest)) {
                List<Registered> p = new ArrayList<>();
                p.add(head);
                p.addAll(tail);
                out.add(p);
            }
        }
        return out;
    }

    /**
     * Issue 14: newest is the most recently completed, whatever the steps say (a restart from step 0),
     * and the answer is the same for every input order.
     */
    @Test
    void mostRecentlyCompletedIsNewestForEveryInputOrder() {
        List<Registered> run = List.of(
                ckpt("A-step100").step(100).at(30).build(),
                ckpt("B-epoch-only").epoch(4).at(20).build(),
                ckpt("C-step200").step(200).at(10).build());

        for (List<Registered> p : permutations(run)) {
            assertThat(newestFirst(p)).as(p.toString()).containsExactly("A-step100", "B-epoch-only", "C-step200");
        }
    }

    /** The registry's completion time comes before the file's modification time. */
    @Test
    void completionTimeDecidesBeforeModificationTime() {
        List<Registered> run = List.of(
                ckpt("copied-in.ckpt").step(100).at(50).completedAt(60).build(),
                ckpt("fresh.ckpt").step(10).at(40).completedAt(70).build());

        assertThat(newestFirst(run)).containsExactly("fresh.ckpt", "copied-in.ckpt");
    }

    /**
     * Found complete by one first scan with equal times, the names' counters break the tie: steps,
     * epochs where the stepped one has an epoch too, for every input order.
     */
    @Test
    void equalTimesFallBackToTheNamesCountersForEveryInputOrder() {
        List<Registered> run = List.of(
                ckpt("epoch=1-step=10.ckpt").epoch(1).step(10).at(50).build(),
                ckpt("epoch_3.ckpt").epoch(3).at(50).build(),
                ckpt("epoch=5-step=50.ckpt").epoch(5).step(50).at(50).build());

        for (List<Registered> p : permutations(run)) {
            assertThat(newestFirst(p)).as(p.toString())
                    .containsExactly("epoch=5-step=50.ckpt", "epoch_3.ckpt", "epoch=1-step=10.ckpt");
        }
    }

    @Test
    void namesWithoutNumbersAreOrderedByModificationTimeThenName() {
        List<Registered> run = List.of(
                ckpt("b.ckpt").at(10).build(),
                ckpt("a.ckpt").at(10).build(),
                ckpt("step-5.ckpt").step(5).at(5).build(),
                ckpt("old.ckpt").at(1).build());

        assertThat(newestFirst(run)).containsExactly("b.ckpt", "a.ckpt", "step-5.ckpt", "old.ckpt");
    }
}
