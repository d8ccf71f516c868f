package dev.ckptwarden.fuzz;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Seeds for the fuzz targets from the real checkpoint corpus (../shared/corpus, or -Dckptwarden.corpus):
 * real headers are what a coverage-guided fuzzer needs to get past the magic numbers quickly. A target
 * whose corpus is absent is skipped with a message rather than fuzzed from nothing.
 */
public final class FuzzSeeds {

    /** Larger files make slow seeds; every format read here has its structure in its first or last KiB. */
    public static final long MAX_SEED_BYTES = 256 << 10;

    private FuzzSeeds() {
    }

    public static Path corpus() {
        Path corpus = Path.of(System.getProperty("ckptwarden.corpus", "../shared/corpus"));
        assumeTrue(Files.isDirectory(corpus), "corpus absent at " + corpus + ": fuzz target skipped");
        return corpus;
    }

    /** Every corpus file of at most {@link #MAX_SEED_BYTES} whose path and bytes {@code keep} accepts. */
    public static Stream<byte[]> files(Predicate<Path> byName, Predicate<byte[]> byContent) {
        Path corpus = corpus();
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(corpus)) {
            paths = walk.filter(Files::isRegularFile).filter(byName).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return paths.stream().filter(p -> size(p) <= MAX_SEED_BYTES).map(FuzzSeeds::read).filter(byContent);
    }

    /** Every small corpus file whose first bytes are {@code magic}. */
    public static Stream<byte[]> startingWith(byte... magic) {
        return files(p -> true, b -> startsWith(b, magic));
    }

    public static boolean startsWith(byte[] b, byte... magic) {
        if (b.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if (b[i] != magic[i]) {
                return false;
            }
        }
        return true;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
