package dev.ckptwarden.catalog.integrity;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared acceptance corpus (read in place, never copied); tests skip when it is absent. */
final class Corpus {

    private Corpus() {
    }

    static Path root() {
        Path corpus = Path.of(System.getProperty("ckptwarden.corpus", "../shared/corpus"));
        assumeTrue(Files.isDirectory(corpus), "corpus absent at " + corpus + ": skipping");
        return corpus;
    }

    static Path file(String relative) {
        Path p = root().resolve(relative);
        assumeTrue(Files.exists(p), "corpus file absent: " + p + ": skipping");
        return p;
    }
}
