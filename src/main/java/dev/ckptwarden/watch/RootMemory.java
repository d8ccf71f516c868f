package dev.ckptwarden.watch;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a reconciler remembers of one root between passes: a few numbers per run directory, never a
 * checkpoint (the registry is the memory). A run directory whose fingerprint is unchanged and that was
 * stable costs the next pass its listing and nothing else: no registry read, no checkpoint built.
 */
final class RootMemory {
    /** One run directory as the last pass that settled it left it. */
    record Run(long fingerprint, boolean stable) {
    }

    /** The root's directory as the last full pass found it. */
    final Path rootDir;
    /** The registry's external change counter this memory is valid for. */
    final long version;
    /** Run directory -> its fingerprint when the last pass settled it. */
    final Map<Path, Run> runs = new ConcurrentHashMap<>();
    /**
     * The directories the last passes listed and catalogued (run directories and their ancestors, never the
     * inside of a checkpoint): where a scoped pass starts looking. Null until a full local pass.
     */
    volatile Set<Path> examined;
    /** The latest state-since registered in the root; null when not known yet. */
    volatile Instant floor;

    RootMemory(Path rootDir, long version) {
        this.rootDir = rootDir;
        this.version = version;
    }

    void raiseFloor(Instant since) {
        if (since != null && (floor == null || since.isAfter(floor))) {
            floor = since;
        }
    }

    /** The fingerprint of a run directory's candidates, names and signatures in walk order. */
    static long fingerprint(Iterable<dev.ckptwarden.catalog.Candidate> candidates) {
        long h = 0x9e3779b97f4a7c15L;
        for (dev.ckptwarden.catalog.Candidate c : candidates) {
            h = c.foldInto(h);
        }
        return h;
    }
}
