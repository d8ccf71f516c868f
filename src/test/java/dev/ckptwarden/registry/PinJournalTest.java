package dev.ckptwarden.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The second record of pins, {@code state_dir/pins.jsonl}: durable, append-only, crash- and link-safe. */
class PinJournalTest {
    @TempDir
    Path state;

    private final SettableClock clock = new SettableClock(Checkpoints.T0);

    @Test
    void lastRecordOfAPathWinsAcrossReopen() throws IOException {
        PinJournal journal = PinJournal.open(state, clock);
        journal.record("/data/a.ckpt", true, "paper");
        journal.record("/data/b.ckpt", true, null);
        clock.advance(Duration.ofMinutes(1));
        journal.record("/data/b.ckpt", false, null);

        PinJournal reopened = PinJournal.open(state, clock);

        assertThat(reopened.pins()).containsOnlyKeys("/data/a.ckpt");
        assertThat(reopened.pins().get("/data/a.ckpt")).isEqualTo(new PinJournal.Pin("paper", Checkpoints.T0));
        assertThat(reopened.lastUnpin("/data/b.ckpt")).isEqualTo(Checkpoints.T0.plus(Duration.ofMinutes(1)));
        assertThat(PinJournal.kept(state)).isTrue();
    }

    @Test
    void tornLastLineLeftByACrashIsCutOffOnOpenAndLaterPinsAreRead() throws IOException {
        PinJournal.open(state, clock).record("/data/a.ckpt", true, "paper");
        Files.writeString(PinJournal.file(state), "{\"time\":\"2024-01-09T10:00:00Z\",\"action\":\"pin\",\"pa",
                StandardCharsets.UTF_8, StandardOpenOption.APPEND);

        PinJournal journal = PinJournal.open(state, clock);
        journal.record("/data/c.ckpt", true, null);

        assertThat(Files.readString(PinJournal.file(state))).doesNotContain("\"pa{").endsWith("\n");
        assertThat(PinJournal.open(state, clock).pins()).containsOnlyKeys("/data/a.ckpt", "/data/c.ckpt");
    }

    @Test
    void pinsAnotherProcessJournaledAreSeenWithoutReopening() throws IOException {
        PinJournal agent = PinJournal.open(state, clock);
        assertThat(agent.pins()).isEmpty();

        PinJournal.open(state, clock).record("/data/a.ckpt", true, "from the command line");

        assertThat(agent.pins()).containsOnlyKeys("/data/a.ckpt");
    }

    @Test
    void journalDeletedUnderARunningAgentIsWrittenAgainFromThePinsItKnows() throws IOException {
        PinJournal agent = PinJournal.open(state, clock);
        agent.record("/data/a.ckpt", true, "paper");
        assertThat(agent.pins()).containsOnlyKeys("/data/a.ckpt");
        Files.delete(PinJournal.file(state));

        assertThat(agent.pins()).containsOnlyKeys("/data/a.ckpt");
        assertThat(PinJournal.kept(state)).isTrue();
        assertThat(PinJournal.open(state, clock).pins().get("/data/a.ckpt").reason()).isEqualTo("paper");
    }

    @Test
    void journalCutToZeroBytesIsNotAKeptRecord() throws IOException {
        PinJournal.open(state, clock).record("/data/a.ckpt", true, null);
        Files.write(PinJournal.file(state), new byte[0]);

        assertThat(PinJournal.kept(state)).isFalse();
    }

    @Test
    void journalThatIsASymbolicLinkIsRefused() throws IOException {
        Path stateDir = Files.createDirectories(state.resolve("state"));
        Path elsewhere = Files.writeString(state.resolve("elsewhere"), "");
        Files.createSymbolicLink(PinJournal.file(stateDir), elsewhere);

        assertThatThrownBy(() -> PinJournal.open(stateDir, clock)).isInstanceOf(IOException.class);
        assertThat(Files.readString(elsewhere)).isEmpty();
    }
}
