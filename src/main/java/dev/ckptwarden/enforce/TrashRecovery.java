package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementReport.Item;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a start does first for each root, the same for every backend: finishes the evictions a crash
 * interrupted from their manifests in the root's trash, records them in the registry and with an audit
 * {@code end} line, then purges. A manifest is used only when every line carries a valid HMAC under the
 * state directory's {@link ManifestKey} and its names stay where they belong ({@link TrashManifest}):
 * anything else was not written by this agent, is refused (a problem line) and moves nothing. A
 * checkpoint pinned now is never rolled forward: what reached the trash is put back.
 */
final class TrashRecovery {
    private static final Logger log = LoggerFactory.getLogger(TrashRecovery.class);

    private final RootConfig root;
    private final Registry registry;
    private final AuditLog audit;
    private final ManifestKey key;

    TrashRecovery(RootConfig root, Registry registry, AuditLog audit, ManifestKey key) {
        this.root = root;
        this.registry = registry;
        this.audit = audit;
        this.key = key;
    }

    /** Recovers what {@code trash} holds into {@code items} and {@code problems}. */
    void recover(TrashBackend trash, Instant now, List<Item> items, List<String> problems) throws IOException {
        List<String> verified = new ArrayList<>();
        List<TrashManifest> recovered = new ArrayList<>();
        List<TrashManifest> all = new ArrayList<>();
        for (String file : trash.manifestFiles()) {
            try {
                all.addAll(TrashManifest.parseAll(trash.readManifest(file), key));
            } catch (IOException unreadable) {
                // Ours are complete before any member moves, and signed: anything else moves nothing.
                String line = "unreadable manifest " + trash.trashName() + "/" + file + " (" + unreadable.getMessage()
                        + "): refused, nothing moved for it";
                log.warn("root {}: {}", root.name(), line);
                problems.add(line);
                continue;
            }
            verified.add(file);
        }
        // Asked before this recovery appends anything: a pass killed after its end lines, before its purge,
        // ended its evictions; they are purged, not finished (and recorded) a second time.
        Set<String> ended = all.isEmpty() ? Set.of() : audit.ended(all.stream().map(TrashManifest::id).toList());
        boolean unrecorded = false;
        for (TrashManifest m : all) {
            recovered.add(m);
            if (ended.contains(m.id())) {
                log.info("root {}: eviction {} of {} had ended before the agent stopped; purging what it left in the trash",
                        root.name(), m.id(), m.path());
                continue;
            }
            TrashBackend.Recovered r = pinnedNow(m.path()) ? trash.putBack(m) : trash.rollForward(m);
            unrecorded |= !record(r, now, items, problems);
        }
        if (unrecorded) {
            // Purging would forget evictions whose end the log lacks: the next start finishes them.
            problems.add("trash " + trash.trashName() + " not emptied: the audit log could not record every eviction in it");
            return;
        }
        problems.addAll(trash.purgeRecovered(verified, recovered).problems());
    }

    /** The registry and the audit log learn of one recovered eviction; false when its end line could not be written. */
    private boolean record(TrashBackend.Recovered r, Instant now, List<Item> items, List<String> problems) {
        TrashManifest m = r.manifest();
        Outcome outcome = r.removed() ? Outcome.removed(r.detail())
                : Outcome.skipped(r.pinned() ? Outcome.Skip.PINNED : Outcome.Skip.INTERRUPTED_BEFORE_RENAME, r.detail());
        if (r.removed()) {
            // An offload's trash entry exists only once its remote copy was verified and recorded.
            CheckpointState state = m.action() == Action.OFFLOAD ? CheckpointState.OFFLOADED : CheckpointState.DELETED;
            try {
                registry.markGone(List.of(m.path()), state, now, m.reason().id());
            } catch (RuntimeException e) {
                problems.add("registry not updated for " + m.path() + ": " + e.getMessage());
            }
        }
        boolean written = true;
        try {
            audit.append(new AuditRecord(now, AuditRecord.END, m.id(), m.path(), m.root(), m.run(), m.bytes(),
                    m.reason().id(), m.action().id(), List.of(), outcome.words(), outcome.detail()));
        } catch (IOException e) {
            written = false;
            problems.add("audit log " + audit.file() + ": " + ErrorLine.reason(e));
        }
        items.add(new Item(Path.of(m.path()), m.run(), m.bytes(), m.reason(), outcome, r.removed() ? m.bytes() : 0));
        log.info("root {}: recovered interrupted eviction of {}: {}", root.name(), m.path(), r.detail());
        return written;
    }

    /** Whether the registry has the checkpoint at {@code path} pinned now; unknown counts as pinned. */
    private boolean pinnedNow(String path) {
        try {
            return registry.byPath(path).map(Registered::pinned).orElse(false);
        } catch (RuntimeException unreadable) {
            return true; // cannot tell: putting back is the move that never loses a checkpoint
        }
    }
}
