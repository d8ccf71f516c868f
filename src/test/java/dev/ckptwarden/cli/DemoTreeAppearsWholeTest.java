package dev.ckptwarden.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code demo} leaves an existing directory as it is, so a demo interrupted part-way (Ctrl-C in the README's
 * first command) must never leave a partial tree at {@code --dir}: the tree appears whole or not at all, and a
 * second {@code demo} then makes it.
 */
class DemoTreeAppearsWholeTest {
    @TempDir
    Path tmp;

    @Test
    void theDemoTreeIsNeverSeenPartWayThrough() throws Exception {
        Path dir = tmp.resolve("demo/checkpoints");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "demo",
                "--dir", dir.toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("demo.out").toFile()).start();
        Map<String, Long> firstSeen = null;
        while (firstSeen == null && !child.waitFor(1, TimeUnit.MILLISECONDS)) {
            if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                firstSeen = files(dir); // what a demo killed at this instant would have left
            }
        }
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as(Files.readString(tmp.resolve("demo.out"))).isZero();
        Map<String, Long> whole = files(dir);
        assertThat(whole).as("5 Lightning checkpoints, last.ckpt, 3 Hugging Face directories of 3 files").hasSize(15);
        if (firstSeen != null) {
            assertThat(firstSeen).as("the tree as it first appeared").isEqualTo(whole);
        }
        try (Stream<Path> beside = Files.list(dir.getParent())) {
            assertThat(beside.map(p -> p.getFileName().toString())).as("nothing left beside it").containsExactly("checkpoints");
        }
    }

    /** Regular files under {@code dir} with their sizes. */
    private static Map<String, Long> files(Path dir) throws IOException {
        Map<String, Long> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(dir.relativize(p).toString(), Files.size(p));
                }
            }
        } catch (java.nio.file.NoSuchFileException | java.io.UncheckedIOException changing) {
            // a file renamed or written while listing: compare what was listed
        }
        return out;
    }
}
