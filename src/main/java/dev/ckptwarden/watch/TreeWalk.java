package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Listing;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Catalogues a tree depth first, local or remote alike, handing each directory's findings on as soon as
 * the directory is listed: each directory is listed once, checkpoints are taken as candidates, and the walk
 * descends only into what the catalog says is not a checkpoint. A directory that vanished since its parent
 * was listed holds nothing to register; one that cannot be listed is reported and left out.
 */
final class TreeWalk {
    private TreeWalk() {
    }

    /** What a walk saw besides its findings: the directories listed, and those that could not be. */
    record Walked(Set<Path> listed, Set<Path> unscanned) {
    }

    static Walked walk(Path start, DirectoryReader reader, Consumer<Path> forget, Cataloger cataloger,
                       BiConsumer<Path, Exception> failed, BiConsumer<Path, Cataloger.Findings> found) {
        Walked w = new Walked(new HashSet<>(), new HashSet<>());
        Deque<Path> pending = new ArrayDeque<>();
        pending.push(start);
        while (!pending.isEmpty()) {
            Path dir = pending.pop();
            Cataloger.Findings f;
            try {
                Listing listing = reader.list(dir);
                f = cataloger.examine(listing, reader);
                w.listed().add(dir);
                for (int i = f.descendInto().size() - 1; i >= 0; i--) {
                    pending.push(f.descendInto().get(i));
                }
            } catch (NoSuchFileException gone) {
                // Vanished mid-scan (a run directory removed by its owner): nothing to register there.
                continue;
            } catch (IOException | RuntimeException e) {
                w.unscanned().add(dir);
                failed.accept(dir, e);
                continue;
            } finally {
                forget.accept(dir);
            }
            found.accept(dir, f);
        }
        return w;
    }

    /** Where a path's checkpoint was found: the directory listed, its findings, and the candidate. */
    record Located(Path dir, Cataloger.Findings findings, dev.ckptwarden.catalog.Candidate candidate) {
    }

    /**
     * Finds the candidate a walk from {@code rootDir} would take {@code path} for, listing only the
     * directories that lead down to it: the path itself, or a multi-file checkpoint it is a member of.
     * Null when a walk would not take it for a checkpoint.
     */
    static Located locate(Path rootDir, Path path, Cataloger cataloger, DirectoryReader reader) throws IOException {
        Path dir = rootDir;
        while (true) {
            Cataloger.Findings f = cataloger.examine(reader.list(dir), reader);
            String rel = dir.relativize(path).toString();
            for (dev.ckptwarden.catalog.Candidate c : f.candidates()) {
                if (c.path().equals(path) || c.members().contains(rel)) {
                    return new Located(dir, f, c);
                }
            }
            Path next = null;
            for (Path d : f.descendInto()) {
                if (path.startsWith(d) && !path.equals(d)) {
                    next = d;
                }
            }
            if (next == null) {
                return null;
            }
            dir = next;
        }
    }
}
