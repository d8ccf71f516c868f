package dev.ckptwarden.watch;

import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Trees deeper than the platform's PATH_MAX (4096 bytes on Linux): the walk is iterative (no
 * StackOverflowError at 10,000 levels), reports the first path it cannot open by that path, and
 * registers everything it could reach, including checkpoints beside the too-long directory.
 */
class DeepTreeReconcileTest {
    private static final int PATH_MAX = 4096;
    private static final Clock LATER = Clock.fixed(Instant.now().plus(Duration.ofDays(1)), ZoneOffset.UTC);

    @TempDir
    Path root;
    @TempDir
    Path state;
    @TempDir
    Path staging;

    /** JUnit's own clean-up resolves absolute paths, which fail past PATH_MAX; rm walks relative to each directory. */
    @AfterEach
    void removeDeepTree() throws IOException, InterruptedException {
        BadInputReconcileTest.shell(root, "rm -rf -- ./*");
    }

    private RootScan scan() {
        RootConfig rc = RootConfig.watchOnly(root.toString());
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rc));
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            return new Reconciler(registry, LATER).reconcile(config, rc).inHand(); // read before the registry closes
        }
    }

    private String depth(Path p) {
        return "depth " + root.relativize(p).getNameCount();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void tenThousandLevelsDeepScanCompletesWithTheReachableCheckpointsAndOneTooLongProblem() throws Exception {
        Path top = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=1.ckpt"), 0, 1L, true);
        Path d50 = root;
        for (int i = 0; i < 50; i++) {
            d50 = d50.resolve("d");
        }
        Path at50 = TinyCheckpoints.torchZip(d50.resolve("epoch=50-step=50.ckpt"), 50, 50L, true);
        // 9,950 more levels: chains of 100 built where paths are short, then renamed into one another
        // (a rename moves a whole subtree at once), so no path ever handed to the OS exceeds PATH_MAX.
        List<Path> chains = new ArrayList<>();
        for (int k = 0; k < 100; k++) {
            chains.add(Files.createDirectories(staging.resolve("c" + k).resolve("d/".repeat(k == 0 ? 49 : 99))));
        }
        for (int k = 99; k >= 1; k--) {
            Files.move(staging.resolve("c" + k), chains.get(k - 1).resolve("d"));
        }
        Files.move(staging.resolve("c0"), d50.resolve("d"));
        BadInputReconcileTest.shell(root, "test $(find . -type d -name d | wc -l) -eq 10000");

        RootScan scan = scan();

        assertThat(scan.reachable()).isTrue();
        assertThat(scan.checkpoints()).extracting(c -> depth(c.path())).containsExactlyInAnyOrder(depth(top), depth(at50));
        assertThat(scan.problems()).singleElement().satisfies(p -> {
            assertThat(p.message()).isEqualTo("File name too long");
            // It names the directory that could not be opened, not its (readable) parent.
            assertThat(p.path().toString().length()).isGreaterThanOrEqualTo(PATH_MAX);
            assertThat(p.path().getParent().toString().length()).isLessThan(PATH_MAX);
        });
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void checkpointBesideADirectoryWhosePathIsTooLongIsStillRegistered() throws Exception {
        String name = "n".repeat(250);
        // A directory whose path is 4010 bytes long: its files' paths fit, a 250-byte child's does not.
        int target = 4010;
        Path level = root;
        while (level.toString().length() + 1 + name.length() < target - 5) {
            level = level.resolve(name);
        }
        level = level.resolve("p".repeat(target - level.toString().length() - 1));
        assertThat(level.toString()).hasSize(target);
        Files.createDirectories(level);
        Path beside = TinyCheckpoints.torchZip(level.resolve("epoch=1-step=10.ckpt"), 1, 10L, true);
        Path tooLong = level.resolve(name);
        assertThat(tooLong.toString().length()).isGreaterThanOrEqualTo(PATH_MAX);
        BadInputReconcileTest.shell(level, "mkdir " + name + " && cp epoch=1-step=10.ckpt " + name + "/");

        RootScan scan = scan();

        // Paths this long make unreadable failure messages: compare depth and name.
        assertThat(scan.checkpoints()).extracting(c -> depth(c.path()) + " " + c.name())
                .containsExactly(depth(beside) + " " + beside.getFileName());
        assertThat(scan.problems()).singleElement().satisfies(p -> {
            assertThat(p.path().equals(tooLong)).as("problem names the too-long directory, depth %d", depth(p.path())).isTrue();
            assertThat(p.message()).isEqualTo("File name too long");
        });
    }
}
