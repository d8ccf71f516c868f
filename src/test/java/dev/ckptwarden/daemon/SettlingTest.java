package dev.ckptwarden.daemon;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Settle timers per directory: each is taken when due, and a pending one is not pushed out by a later pass. */
class SettlingTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");
    private static final Path A = Path.of("/data/a");
    private static final Path B = Path.of("/data/b");

    @Test
    void eachDirectoryIsTakenWhenItsOwnTimeHasCome() {
        Settling s = new Settling();
        assertThat(s.update(Map.of("data", Map.of(A, T.plusSeconds(6), B, T.plusSeconds(9)))))
                .containsExactly(T.plusSeconds(6), T.plusSeconds(9));

        assertThat(s.take(T.plusSeconds(6))).isEqualTo(Map.of("data", Set.of(A)));
        assertThat(s.take(T.plusSeconds(6))).as("taken once").isEmpty();
        assertThat(s.take(T.plusSeconds(9).minus(Settling.EARLY))).as("a timer that wakes a little early")
                .isEqualTo(Map.of("data", Set.of(B)));
    }

    @Test
    void aPendingTimerKeepsItsTimeWhenALaterPassWouldPushItOutAndOnlyNewTimesAreScheduled() {
        Settling s = new Settling();
        s.update(Map.of("data", Map.of(A, T.plusSeconds(6))));
        // A pass at T+7 (before A's timer ran) did not look at A: A counts as overdue, tried "one settle time from now".
        assertThat(s.update(Map.of("data", Map.of(A, T.plusSeconds(17), B, T.plusSeconds(9)))))
                .as("A's timer is already set").containsExactly(T.plusSeconds(9));
        assertThat(s.take(T.plusSeconds(7))).isEqualTo(Map.of("data", Set.of(A)));

        assertThat(s.update(Map.of("data", Map.of()))).as("nothing settling any more").isEmpty();
        assertThat(s.take(T.plusSeconds(60))).as("a directory that settled has no timer left").isEmpty();
    }
}
