package dev.ckptwarden.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the shared acceptance corpus (never copied into the repository); skips tests without it. */
public final class Corpus {
    private Corpus() {
    }

    public static Path root() {
        Path p = Paths.get(System.getProperty("ckptwarden.corpus", "../shared/corpus")).toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(p), "corpus absent at " + p + ": skipping corpus tests");
        return p;
    }

    public static Path file(String relative) {
        Path p = root().resolve(relative);
        Assumptions.assumeTrue(Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS), "corpus file absent: " + p);
        return p;
    }
}
