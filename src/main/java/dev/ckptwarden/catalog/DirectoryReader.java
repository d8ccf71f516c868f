package dev.ckptwarden.catalog;

import java.io.IOException;
import java.nio.file.Path;

/** Lists a directory without following symbolic links; the walker's implementation caches and counts. */
@FunctionalInterface
public interface DirectoryReader {
    Listing list(Path dir) throws IOException;
}
