package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.integrity.FileSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * What walking one root found, before the registry is brought in line: the part that differs
 * between a local root and a remote one.
 *
 * @param rootDir    the root's path (a real local path, or a remote root's path form)
 * @param reachable  false when the root itself could not be listed: nothing is marked gone then
 * @param unscanned  directories that could not be listed; what was registered below them is kept
 * @param listed     directories listed (where a later scoped pass may start looking)
 * @param entries    directory entries seen
 * @param source     where the candidates' files are read from
 */
record RootWalk(Path rootDir, boolean reachable, List<Candidate> candidates, Set<Path> unscanned, Set<Path> listed,
                long entries, FileSource source) {

    static RootWalk unreachable(Path rootDir) {
        return new RootWalk(rootDir, false, List.of(), Set.of(), Set.of(), 0, FileSource.LOCAL);
    }
}
