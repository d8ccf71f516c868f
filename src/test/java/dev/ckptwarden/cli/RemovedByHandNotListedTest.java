package dev.ckptwarden.cli;

import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A checkpoint removed by hand while no agent ran is not listed by {@code ls}, not planned by {@code plan}
 * and not pinned by {@code pin}: each looks at the run directory again when a registered path is gone,
 * as {@code resolve} does. Found from outside: {@code pin} answered "pinned" for a file that no longer
 * existed, so a user believed a checkpoint was protected that was already lost.
 */
class RemovedByHandNotListedTest {
    @TempDir
    Path root;
    @TempDir
    Path work;
    Path config;
    Path older;
    Path newer;
    Path newest;

    @BeforeEach
    void threeSavesScanned() throws IOException {
        Path run = root.resolve("exp1");
        config = work.resolve("ckpt-warden.yaml");
        Files.writeString(config, "agent:\n  state_dir: " + work.resolve("state") + "\n  settle_time: 10s\n"
                + "roots:\n  - name: main\n    path: " + root + "\n    retention:\n      keep_last: 1\n");
        older = TinyCheckpoints.torchZip(run.resolve("epoch=1-step=100.ckpt"), 1, 100L, true);
        newer = TinyCheckpoints.torchZip(run.resolve("epoch=2-step=200.ckpt"), 2, 200L, true);
        newest = TinyCheckpoints.torchZip(run.resolve("epoch=3-step=300.ckpt"), 3, 300L, true);
        assertThat(cli("scan").code()).isZero();
    }

    private CliRun cli(String command, String... args) {
        return CliRun.withConfig(config, command, args);
    }

    @Test
    void lsDoesNotListACheckpointRemovedByHandAndItsHistorySaysWhy() throws IOException {
        Files.delete(newer);
        CliRun ls = cli("ls");
        assertThat(ls.code()).as(ls.toString()).isZero();
        assertThat(ls.out()).contains("epoch=1-step=100.ckpt", "epoch=3-step=300.ckpt")
                .doesNotContain("epoch=2-step=200.ckpt");
        assertThat(cli("ls", "--all").out()).containsPattern("epoch=2-step=200\\.ckpt .*deleted.*gone from disk");
    }

    @Test
    void pinOfACheckpointRemovedByHandExitsOneAndSaysItIsGone() throws IOException {
        Files.delete(older);
        CliRun pin = cli("pin", older.toString());
        assertThat(pin.code()).as(pin.toString()).isEqualTo(ExitCode.NOT_FOUND);
        assertThat(pin.out()).isEmpty();
        assertThat(pin.err()).contains(older.toString(), "deleted");
    }

    @Test
    void planJudgesWhatIsOnDiskSoTheNewestRemovedByHandMakesTheNextOneTheProtectedNewest() throws IOException {
        Files.delete(newest);
        CliRun plan = cli("plan");
        assertThat(plan.code()).as(plan.toString()).isZero();
        assertThat(plan.out()).doesNotContain("epoch=3-step=300.ckpt")
                .containsPattern("epoch=2-step=200\\.ckpt +keep .*protected: newest complete")
                .containsPattern("epoch=1-step=100\\.ckpt +evict");
    }
}
