package dev.ckptwarden.catalog;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Lists a directory without following symbolic links; the walker's implementation caches and counts. */
@FunctionalInterface
public interface DirectoryReader {
    Listing list(Path dir) throws IOException;

    /**
     * A hint that each of {@code dirs} is about to be listed: a reader that caches may list them ahead,
     * several at a time. Failures are left for {@link #list} to report.
     */
    default void prefetch(List<Path> dirs) {
    }
}
