package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementReport.Item;
import dev.ckptwarden.offload.OffloadException;
import dev.ckptwarden.offload.OffloadListener;
import dev.ckptwarden.offload.OffloadReceipt;
import dev.ckptwarden.offload.Offloader;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The one code path that removes checkpoint files (SPEC "Deletion: how, safely").
 *
 * <p>Evictions go in batches of up to {@value #BATCH}; the disk is forced three times per batch,
 * not four times per eviction. For each eviction, in order: an audit {@code begin} line (the
 * batch's lines are forced to disk together before anything is touched); the protection checks
 * (the eviction's root, a watch-only root, a {@code protected: } reason, and the registry's row read
 * again now: pinned, writing, corrupt, or changed since the plan); the location checks (inside the
 * root, not in the trash, and no symbolic link in the chain from the root: every directory is
 * reached by {@code openat(O_NOFOLLOW)} from the root's descriptor, so a run directory swapped for a
 * link, even mid-way, stops the walk); a fresh look at the entries through that descriptor (a link
 * is refused; size, newest mtime and the catalog's signature must equal the plan's, else the
 * checkpoint changed and is skipped this pass); then, once the batch's manifest naming every
 * checkpoint that passed is forced to disk, a last look (unchanged since the manifest) and the rename
 * into the root's {@link TrashBin}; {@link Registry#markGone} with the reason (one write per batch),
 * the audit {@code end} lines (forced together), and the deletion from the trash. "Already gone"
 * anywhere along the way is success.
 *
 * <p>Outcomes: {@code ok}; {@code dry-run} and {@code report} (nothing touched, nothing written to
 * the audit log or registry); {@code skipped:<why>} with why one of {@code pinned}, {@code writing},
 * {@code corrupt}, {@code protected}, {@code outside root}, {@code symbolic link},
 * {@code changed since planned}, {@code not registered}, {@code not present}, {@code watch-only root},
 * {@code other root}; {@code failed:<why>}.
 *
 * <p>{@code action: offload} (see {@link Offloader}): after the fresh look and before the rename, the
 * checkpoint is copied to the root's offload target and verified, read through the same descriptors;
 * then looked at again (a checkpoint rewritten during the copy is kept, and the copy removed). The
 * registry gets a history event {@value OffloadReceipt#EVENT} with the remote URI and checksum before
 * the rename, and state {@code offloaded} after it; the local copy then goes through the trash like a
 * deletion. A failed copy deletes nothing: outcome {@code failed:offload <what>} (unreachable,
 * authentication failed, host key not trusted, remote write failed, verification failed, ...), a
 * history event {@value OffloadReceipt#FAILED_EVENT} saying why, and the state unchanged.
 */
public final class Enforcer {
    private static final Logger log = LoggerFactory.getLogger(Enforcer.class);
    private static final String PROTECTED_REASON = "protected: ";
    /**
     * Evictions that share one forced write of their audit {@code begin} lines, one trash manifest
     * file and one forced write of their {@code end} lines. Bounded so that the directories held open
     * for a batch stay few, and a crash leaves at most this many evictions to finish.
     */
    static final int BATCH = 1024;

    private final Registry registry;
    private final AuditLog audit;
    private final EnforcementListener listener;
    /** How offload targets are reached; null: from the environment, when first needed. */
    private final RemoteSettings remoteSettings;
    /** Told about every offload copy (the agent's metrics). */
    private final OffloadListener offloadListener;
    /** Asked before each batch whether this process may delete (cluster mode's lease). */
    private volatile DeletionGuard guard = DeletionGuard.ALWAYS;
    /** Authenticates trash manifests; read from beside the audit log (state_dir) when first needed. */
    private ManifestKey manifestKey;

    /** @param audit may be null for callers that only ever dry-run */
    public Enforcer(Registry registry, AuditLog audit) {
        this(registry, audit, EnforcementListener.NONE);
    }

    public Enforcer(Registry registry, AuditLog audit, EnforcementListener listener) {
        this(registry, audit, listener, null);
    }

    /** @param remoteSettings how offload targets are reached; null reads them from the environment when first needed */
    public Enforcer(Registry registry, AuditLog audit, EnforcementListener listener, RemoteSettings remoteSettings) {
        this(registry, audit, listener, remoteSettings, OffloadListener.NONE);
    }

    /** @param offloadListener told when each offload copy starts, is verified or fails */
    public Enforcer(Registry registry, AuditLog audit, EnforcementListener listener, RemoteSettings remoteSettings,
                    OffloadListener offloadListener) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.audit = audit;
        this.listener = Objects.requireNonNull(listener, "listener");
        this.remoteSettings = remoteSettings;
        this.offloadListener = Objects.requireNonNull(offloadListener, "offloadListener");
    }

    static final String NOT_ALLOWED = "not allowed to delete";
    /** Item detail while the registry holds deletions ({@link Registry#deletionHold()}). */
    static final String HELD = "registry lost: deleting nothing until it is rebuilt or started fresh";
    static final String STOPPING = "agent stopping";
    private volatile boolean stopping;

    /**
     * Asks passes in progress to end after the batch they are in: later batches, and offload copies
     * not yet started, are skipped ({@code skipped:agent stopping}) and left for the next start.
     */
    public void stop() {
        stopping = true;
    }

    /** Why the guard says this process may not delete now, or null when it may. */
    private String refusal(RootConfig root) {
        try {
            guard.check(root.name());
            return null;
        } catch (IOException | RuntimeException x) {
            return x.getMessage() == null ? x.toString() : x.getMessage();
        }
    }

    /** Sets what is asked before each batch of evictions whether this process may still delete. */
    public void guardWith(DeletionGuard guard) {
        this.guard = Objects.requireNonNull(guard, "guard");
    }

    /**
     * One enforcement pass over one root.
     *
     * @param rootDir   the root's local directory as configured ({@code Reconciler.localPath(root)}; links in it are resolved only to open it)
     * @param evictions what to remove, in this order
     * @param dryRun    true: check everything, touch nothing, write nothing; report what would happen
     * @param now       the pass's single reading of the clock (registry times, trash entry ids)
     * @throws SecureDeletionUnavailableException when the root's file system has no secure directory streams
     * @throws EnforcementBusyException           when another pass holds the root's trash
     * @throws IOException                        when the root or its trash cannot be opened
     */
    public EnforcementReport enforce(RootConfig root, Path rootDir, List<Eviction> evictions, boolean dryRun, Instant now)
            throws IOException {
        // Nothing to remove opens no trash: a pass with nothing to do leaves the root as it was.
        boolean destructive = !dryRun && (root.action() == Action.DELETE || root.action() == Action.OFFLOAD)
                && !evictions.isEmpty();
        List<Item> items = new ArrayList<>(evictions.size());
        List<String> problems = new ArrayList<>();
        if (destructive) {
            // Asked before anything of a local or a remote root is touched.
            // A registry that lost what it knew (pins above all) may not direct a deletion, whoever holds the lease.
            Optional<String> hold = stopping ? Optional.empty() : registry.deletionHold();
            String refused = stopping ? null : hold.orElseGet(() -> refusal(root));
            if (stopping || refused != null) {
                if (refused != null) {
                    problems.add("root " + root.name() + ": not allowed to delete now: " + refused);
                }
                // The whole story is in the problem line once; each item only says which it was.
                String detail = hold.isPresent() ? HELD : refused;
                for (Eviction e : evictions) {
                    Item item = new Item(e.checkpoint().path(), e.checkpoint().run(), e.checkpoint().bytes(), e.reason(),
                            stopping ? EnforcementReport.SKIPPED + STOPPING : EnforcementReport.FAILED + NOT_ALLOWED,
                            detail, 0);
                    items.add(item);
                    listener.finished(item);
                }
                return new EnforcementReport(root.name(), rootDir, root.action().id(), false, items, problems);
            }
        }
        if (!root.isLocal()) {
            return remote(root, dryRun, now).enforce(evictions);
        }
        if (destructive && audit == null) {
            throw new IllegalStateException("deleting needs an audit log");
        }
        Path shown;
        try (RootDirectory dir = RootDirectory.open(rootDir);
             TrashBin trash = destructive ? TrashBin.open(dir, manifestKey()) : null) {
            shown = dir.path();
            Pass pass = new Pass(root, dir, trash, dryRun, now, problems);
            try {
                if (pass.destructive()) {
                    for (int from = 0; from < evictions.size(); from += BATCH) {
                        for (Item item : pass.evictBatch(evictions.subList(from, Math.min(evictions.size(), from + BATCH)))) {
                            items.add(item);
                            listener.finished(item);
                        }
                    }
                } else {
                    for (Eviction e : evictions) {
                        Item item = pass.look(e);
                        items.add(item);
                        listener.finished(item);
                    }
                }
            } finally {
                pass.closeRemote();
            }
        }
        return new EnforcementReport(root.name(), shown, root.action().id(), dryRun, items, problems);
    }

    /**
     * What a start does first for each root: finishes evictions a crash interrupted (rolling partial
     * multi-file moves forward from their manifests, see {@link TrashBin#recover()}), records them
     * in the registry and with an audit {@code end} line, then empties the trash. A root without a
     * trash directory has nothing to recover and is left as it is.
     *
     * @return one item per interrupted eviction ({@code ok}, or {@code skipped:interrupted before rename}
     *         when it had moved nothing and the checkpoint is whole in place); {@code freed} counts the
     *         sizes the manifests recorded; purge failures are problems
     */
    public EnforcementReport recover(RootConfig root, Path rootDir, Instant now) throws IOException {
        if (audit == null) {
            throw new IllegalStateException("recovering needs an audit log");
        }
        if (!root.isLocal()) {
            return remote(root, false, now).recover();
        }
        List<Item> items = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        Path shown;
        try (RootDirectory dir = RootDirectory.open(rootDir)) {
            shown = dir.path();
            if (hasTrash(dir)) {
                recover(root, dir, now, items, problems);
            }
        }
        return new EnforcementReport(root.name(), shown, root.action().id(), false, items, problems);
    }

    /** A pass over a remote root ({@code sftp://}, {@code s3://}): see {@link RemoteEvictions}. */
    private RemoteEvictions remote(RootConfig root, boolean dryRun, Instant now) {
        boolean destructive = !dryRun && (root.action() == Action.DELETE || root.action() == Action.OFFLOAD);
        if (destructive && audit == null) {
            throw new IllegalStateException("deleting needs an audit log");
        }
        return new RemoteEvictions(root, registry, audit, listener,
                remoteSettings != null ? remoteSettings : RemoteSettings.fromEnvironment(), dryRun, now,
                () -> stopping, () -> refusal(root));
    }

    /** The state directory's manifest key (beside the audit log), read once. */
    private synchronized ManifestKey manifestKey() throws IOException {
        if (manifestKey == null) {
            manifestKey = ManifestKey.forRegistry(registry, audit.file().getParent());
        }
        return manifestKey;
    }

    private static boolean hasTrash(RootDirectory dir) throws IOException {
        try {
            RootDirectory.lstat(dir.stream(), dir.name(TrashBin.DIR_NAME));
            return true;
        } catch (NoSuchFileException absent) {
            return false;
        }
    }

    private void recover(RootConfig root, RootDirectory dir, Instant now, List<Item> items, List<String> problems)
            throws IOException {
        TrashBin opened;
        try {
            opened = TrashBin.open(dir, manifestKey());
        } catch (UntrustedTrashException refused) {
            // Someone else's trash: nothing in it is rolled forward or purged.
            log.warn("root {}: {}", root.name(), refused.getMessage());
            problems.add(refused.getMessage());
            return;
        }
        boolean unrecorded = false;
        try (TrashBin trash = opened) {
            for (TrashBin.Recovered r : trash.finishInterrupted(this::pinnedNow)) {
                if (r.path() == null) {
                    log.warn("root {}: {}", root.name(), r.detail());
                    problems.add(r.detail());
                    continue;
                }
                String outcome = r.removed() ? EnforcementReport.OK
                        : EnforcementReport.SKIPPED + (r.pinned() ? "pinned" : "interrupted before rename");
                if (r.removed()) {
                    // An offload's trash entry exists only once its remote copy was verified and recorded.
                    markGone(r.path(), Action.OFFLOAD.id().equals(r.action()) ? CheckpointState.OFFLOADED
                            : CheckpointState.DELETED, r.reason(), now, problems);
                }
                try {
                    audit.append(new AuditRecord(now, AuditRecord.END, r.id(), r.path(), r.root(), r.run(), r.bytes(),
                            r.reason(), r.action(), List.of(), outcome, r.detail()));
                } catch (IOException e) {
                    unrecorded = true;
                    problems.add("audit log " + audit.file() + ": " + TrashBin.describe(e));
                }
                Item item = new Item(Path.of(r.path()), r.run(), r.bytes(), r.reason(), outcome, r.detail(),
                        r.removed() ? r.bytes() : 0);
                items.add(item);
                log.info("root {}: recovered interrupted eviction of {}: {}", root.name(), r.path(), r.detail());
            }
            if (unrecorded) {
                // Purging would forget evictions whose end the log lacks: the next start finishes them.
                problems.add("trash " + trash.path() + " not emptied: the audit log could not record every eviction in it");
                return;
            }
            TrashBin.Purge purge = trash.purge();
            problems.addAll(purge.problems());
        }
    }

    /** Whether the registry has the checkpoint at {@code path} pinned now; unknown counts as pinned. */
    private boolean pinnedNow(String path) {
        try {
            return registry.byPath(path).map(Checkpoint::pinned).orElse(false);
        } catch (RuntimeException unreadable) {
            return true; // cannot tell: putting back is the move that never loses a checkpoint
        }
    }

    private void markGone(String path, CheckpointState state, String reason, Instant now, List<String> problems) {
        try {
            registry.markGone(List.of(path), state, now, reason);
        } catch (RuntimeException e) {
            problems.add("registry not updated for " + path + ": " + e.getMessage());
        }
    }

    /** Why an eviction is refused before the disk is looked at, or null. */
    record Refusal(String why, String detail) {
    }

    /** An offload's copy step: the detail words of a verified copy, or the result that stops the eviction. */
    private record Copied(String detail, Result stop) {
    }

    /** The result of deciding one eviction; {@code settle}: what to delete from the trash after the end line. */
    private record Result(Item item, TrashManifest settle) {
    }

    /**
     * A checkpoint that passed every check and is ready to be renamed into the trash once its batch's
     * manifest is on disk.
     */
    private record Ready(int index, Eviction eviction, SecureDirectoryStream<Path> parent, CheckpointEntries where,
                         CheckpointEntries.Observed seen, TrashManifest manifest, boolean registeredGone,
                         String offloaded) {
    }

    /** What {@code prepare} found: a final result, or a checkpoint ready to move. */
    private record Prepared(Result result, Ready ready) {
    }

    private static Prepared done(Result result) {
        return new Prepared(result, null);
    }

    /** One pass's state: the open root and trash, and whether the audit log still works. */
    private final class Pass {
        private final RootConfig root;
        private final RootDirectory dir;
        private final TrashBin trash;
        private final boolean dryRun;
        private final Instant now;
        private final List<String> problems;
        private final Action action;
        private String auditBroken;
        private RemoteFiles remote;
        /** The current batch's registry rows by path, read once; null outside a batch. */
        private Map<String, Checkpoint> rows;

        Pass(RootConfig root, RootDirectory dir, TrashBin trash, boolean dryRun, Instant now, List<String> problems) {
            this.root = root;
            this.dir = dir;
            this.trash = trash;
            this.dryRun = dryRun;
            this.now = now;
            this.problems = problems;
            this.action = root.action();
        }

        boolean destructive() {
            return trash != null;
        }

        /** A dry run or {@code action: report}: every check, nothing touched, nothing written. */
        Item look(Eviction e) {
            Checkpoint c = e.checkpoint();
            try (ParentStreams parents = new ParentStreams()) {
                Prepared p = prepare(e, null, -1, parents);
                return p.result().item();
            } catch (IOException | RuntimeException x) {
                return failed(e, x);
            }
        }

        /**
         * Evicts a batch: the {@code begin} lines of all of it forced to disk once; every check for
         * each; one manifest file naming every checkpoint that passed, forced with the trash
         * directory; for each, a last look (unchanged since its manifest) and the renames; the
         * registry told of all of them; the {@code end} lines forced once; then the deletion from the
         * trash. A crash anywhere leaves each checkpoint whole in place or whole in the trash with a
         * manifest line, which the next start finishes.
         */
        List<Item> evictBatch(List<Eviction> batch) {
            Item[] out = new Item[batch.size()];
            String[] ids = new String[batch.size()];
            if (stopping) {
                List<Item> left = new ArrayList<>(batch.size());
                for (Eviction e : batch) {
                    left.add(item(e, e.checkpoint().bytes(), EnforcementReport.SKIPPED + STOPPING, null, 0));
                }
                return left;
            }
            // The lease may be lost between batches (another agent took over): ask again each time.
            String why = refusal(root);
            if (why != null) {
                problems.add("root " + root.name() + ": not allowed to delete now: " + why);
                List<Item> refused = new ArrayList<>(batch.size());
                for (Eviction e : batch) {
                    refused.add(item(e, e.checkpoint().bytes(), EnforcementReport.FAILED + NOT_ALLOWED, why, 0));
                }
                return refused;
            }
            if (auditBroken == null) {
                List<AuditRecord> begins = new ArrayList<>(batch.size());
                for (int i = 0; i < batch.size(); i++) {
                    Eviction e = batch.get(i);
                    Checkpoint c = e.checkpoint();
                    ids[i] = TrashBin.newId(now);
                    begins.add(new AuditRecord(now, AuditRecord.BEGIN, ids[i], c.key(), root.name(), c.run(), c.bytes(),
                            e.reason(), action.id(), e.why(), null, null));
                }
                try {
                    audit.appendAll(begins);
                } catch (IOException x) {
                    auditBroken = "audit log " + audit.file() + ": " + TrashBin.describe(x);
                    problems.add(auditBroken);
                }
            }
            if (auditBroken != null) {
                List<Item> failed = new ArrayList<>(batch.size());
                for (Eviction e : batch) {
                    failed.add(item(e, e.checkpoint().bytes(), EnforcementReport.FAILED + "audit log unavailable",
                            auditBroken, 0));
                }
                return failed;
            }
            List<TrashManifest> settle = new ArrayList<>();
            List<Integer> settleAt = new ArrayList<>();
            Path manifestFile = null;
            // The registry's rows as they are now, read once for the batch (after the begin lines).
            List<String> keys = new ArrayList<>(batch.size());
            batch.forEach(e -> keys.add(e.checkpoint().key()));
            try {
                rows = registry.byPaths(keys);
            } catch (RuntimeException x) {
                rows = null; // each eviction asks on its own, and fails on its own with an end line
            }
            try (ParentStreams parents = new ParentStreams()) {
                List<Ready> ready = new ArrayList<>();
                for (int i = 0; i < batch.size(); i++) {
                    try {
                        Prepared p = prepare(batch.get(i), ids[i], i, parents);
                        if (p.ready() != null) {
                            ready.add(p.ready());
                        } else {
                            out[i] = p.result().item();
                        }
                    } catch (IOException | RuntimeException x) {
                        out[i] = failed(batch.get(i), x);
                    }
                }
                if (!ready.isEmpty()) {
                    try {
                        manifestFile = trash.writeManifests(ready.stream().map(Ready::manifest).toList());
                    } catch (IOException x) {
                        for (Ready r : ready) {
                            out[r.index()] = failed(r.eviction(), x);
                        }
                        ready = List.of();
                    }
                }
                for (Ready r : ready) {
                    Result result;
                    try {
                        result = move(r);
                    } catch (IOException | RuntimeException x) {
                        result = new Result(failed(r.eviction(), x), null);
                    }
                    out[r.index()] = result.item();
                    if (result.settle() != null) {
                        settle.add(result.settle());
                        settleAt.add(r.index());
                    }
                }
                recordGone(batch, ready, settleAt, out);
            } finally {
                rows = null;
            }
            List<AuditRecord> ends = new ArrayList<>(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                Checkpoint c = batch.get(i).checkpoint();
                ends.add(new AuditRecord(now, AuditRecord.END, ids[i], c.key(), root.name(), c.run(), out[i].bytes(),
                        batch.get(i).reason(), action.id(), List.of(), out[i].outcome(), out[i].detail()));
            }
            try {
                audit.appendAll(ends);
            } catch (IOException x) {
                // Deleting what the log does not record as ended would lose the record for good: the trash
                // keeps them with their manifest, and the next start writes the end lines, then deletes.
                auditBroken = "audit log " + audit.file() + ": " + TrashBin.describe(x);
                problems.add("audit log " + audit.file() + ": end lines for " + batch.size() + " eviction(s) not written ("
                        + TrashBin.describe(x) + "); their checkpoints stay in " + trash.path()
                        + " until a start records them");
                return List.of(out);
            }
            if (manifestFile != null) {
                long[] freed;
                try {
                    freed = trash.settle(manifestFile, settle);
                } catch (TrashBin.PartialSettleException x) {
                    freed = x.freed();
                    problems.add("some evicted checkpoints were left in " + trash.path() + " (" + TrashBin.describe(x)
                            + "); the next start deletes them");
                } catch (IOException x) {
                    freed = new long[settle.size()];
                    problems.add("evicted checkpoints left in " + trash.path() + " (" + TrashBin.describe(x)
                            + "); the next start deletes them");
                }
                for (int k = 0; k < settleAt.size(); k++) {
                    Item it = out[settleAt.get(k)];
                    out[settleAt.get(k)] = new Item(it.path(), it.run(), it.bytes(), it.reason(), it.outcome(), it.detail(),
                            Math.max(0, freed[k]));
                }
            }
            return List.of(out);
        }

        /** The registry learns of every checkpoint the batch moved, in one write per (state, reason). */
        private void recordGone(List<Eviction> batch, List<Ready> ready, List<Integer> moved, Item[] out) {
            Map<CheckpointState, Map<String, List<String>>> groups = new java.util.EnumMap<>(CheckpointState.class);
            java.util.Set<Integer> movedSet = new java.util.HashSet<>(moved);
            for (Ready r : ready) {
                if (!movedSet.contains(r.index())) {
                    continue;
                }
                CheckpointState state = r.offloaded() != null ? CheckpointState.OFFLOADED : CheckpointState.DELETED;
                groups.computeIfAbsent(state, k -> new java.util.TreeMap<>())
                        .computeIfAbsent(r.eviction().reason(), k -> new ArrayList<>()).add(r.eviction().checkpoint().key());
            }
            groups.forEach((state, byReason) -> byReason.forEach((reason, paths) -> {
                try {
                    registry.markGone(paths, state, now, reason);
                } catch (RuntimeException e) {
                    problems.add("registry not updated for " + paths.size() + " evicted checkpoint(s), e.g. "
                            + paths.get(0) + ": " + e.getMessage());
                }
            }));
            for (int i : moved) {
                Item it = out[i];
                log.info("root {}: evicted {} ({}, {} bytes){}", root.name(), it.path(), it.reason(), it.bytes(),
                        it.detail() == null ? "" : ", " + it.detail());
            }
        }

        /** The rename of one ready checkpoint, after a last look that it is still what its manifest says. */
        private Result move(Ready r) throws IOException {
            Eviction e = r.eviction();
            Checkpoint c = e.checkpoint();
            CheckpointEntries.Observed again;
            try {
                again = r.where().observe(r.parent());
            } catch (UnsafePathException u) {
                return skip(e, "symbolic link", dir.path().resolve(r.where().parent()).resolve(u.where()) + ": " + u.why());
            } catch (NotDirectoryException nd) {
                return skip(e, "changed since planned", nd.getFile() + " is no longer a directory");
            }
            if (again.allMissing()) {
                return gone(e, r.registeredGone());
            }
            if (!again.entries().equals(r.seen().entries())) {
                return skip(e, "changed since planned", "changed after its last look, before the rename");
            }
            List<String> moved = trash.moveMembers(r.parent(), r.manifest(), m -> listener.renamed(c.path(), m));
            if (moved.isEmpty()) {
                return gone(e, r.registeredGone());
            }
            String detail = moved.size() < r.where().names().size() ? "some members were already gone" : null;
            if (r.offloaded() != null) {
                detail = detail == null ? r.offloaded() : r.offloaded() + "; " + detail;
            }
            return new Result(item(e, r.seen().bytes(), EnforcementReport.OK, detail, 0), r.manifest());
        }

        private Item failed(Eviction e, Exception x) {
            Checkpoint c = e.checkpoint();
            log.warn("root {}: eviction of {} failed: {}", root.name(), c.path(), TrashBin.describe(asIo(x)));
            return item(e, c.bytes(), EnforcementReport.FAILED + TrashBin.describe(asIo(x)), null, 0);
        }

        /**
         * Every check of one eviction short of the rename: the refusals, the location, a fresh look
         * at its entries, and for {@code action: offload} the verified copy.
         */
        private Prepared prepare(Eviction e, String id, int index, ParentStreams parents) throws IOException {
            Checkpoint c = e.checkpoint();
            Optional<Checkpoint> row = rows != null ? Optional.ofNullable(rows.get(c.key())) : registry.byPath(c.key());
            Refusal refused = protection(root, e, row);
            if (refused != null) {
                return done(skip(e, refused.why(), refused.detail()));
            }
            boolean registeredGone = row.isPresent() && !row.get().state().present();
            CheckpointEntries where;
            try {
                where = CheckpointEntries.of(c, dir.path());
            } catch (UnsafePathException u) {
                return done(skip(e, "outside root", u.getMessage()));
            }
            SecureDirectoryStream<Path> parent;
            try {
                parent = parents.open(where.parent());
            } catch (NoSuchFileException gone) {
                return done(gone(e, registeredGone));
            } catch (UnsafePathException u) {
                return done(skip(e, "symbolic link", dir.path().resolve(u.where()) + ": " + u.why()));
            } catch (NotDirectoryException nd) {
                return done(skip(e, "changed since planned", dir.path().resolve(nd.getFile()) + " is no longer a directory"));
            }
            CheckpointEntries.Observed seen;
            try {
                seen = where.observe(parent);
            } catch (UnsafePathException u) {
                return done(skip(e, "symbolic link", dir.path().resolve(where.parent()).resolve(u.where()) + ": "
                        + u.why()));
            } catch (NotDirectoryException nd) {
                return done(skip(e, "changed since planned", nd.getFile() + " is no longer a directory"));
            }
            String link = seen.symbolicLink();
            if (link != null) {
                return done(skip(e, "symbolic link", dir.path().resolve(where.parent()).resolve(link)
                        + " is a symbolic link"));
            }
            if (seen.allMissing()) {
                return done(gone(e, registeredGone));
            }
            if (registeredGone) {
                return done(skip(e, "not present", "the registry records it as " + row.get().state().id()));
            }
            String diff = seen.differenceFrom(c);
            if (diff != null) {
                return done(skip(e, "changed since planned", diff));
            }
            if (dryRun) {
                return done(new Result(item(e, seen.bytes(), EnforcementReport.DRY_RUN, null, 0), null));
            }
            if (action == Action.REPORT) {
                return done(new Result(item(e, seen.bytes(), EnforcementReport.REPORT, null, 0), null));
            }
            String offloaded = null;
            if (action == Action.OFFLOAD) {
                if (stopping) {
                    return done(skip(e, STOPPING, "not copied: the agent is stopping"));
                }
                Copied copied = offload(e, where, parent, seen);
                if (copied.stop() != null) {
                    return done(copied.stop());
                }
                offloaded = copied.detail();
            }
            TrashManifest manifest = new TrashManifest(id, root.name(), c.run(), c.key(),
                    where.parent().toString(), seen.entries(), seen.bytes(), e.reason(), action.id(), now);
            return new Prepared(null, new Ready(index, e, parent, where, seen, manifest, registeredGone, offloaded));
        }

        /**
         * Copies the checkpoint to the root's offload target and checks it is still what was copied.
         *
         * @return the words for the eviction's detail once the copy is verified and recorded, or the
         *         result that ends this eviction with nothing removed
         */
        private Copied offload(Eviction e, CheckpointEntries where, SecureDirectoryStream<Path> parent,
                               CheckpointEntries.Observed seen) throws IOException {
            Checkpoint c = e.checkpoint();
            if (root.offload() == null) {
                return new Copied(null, new Result(item(e, seen.bytes(), EnforcementReport.FAILED + "offload no target",
                        "action: offload without an offload: target; nothing was touched", 0), null));
            }
            String rel = dir.path().relativize(c.path()).toString().replace(java.io.File.separatorChar, '/');
            OffloadReceipt receipt;
            try (DescriptorSource source = new DescriptorSource(parent, where.names())) {
                receipt = offloader().copy(root.offload(), root.name(), rel, source);
            } catch (OffloadException x) {
                history(c.key(), OffloadReceipt.FAILED_EVENT, x.getMessage());
                log.warn("root {}: offload of {} failed: {}", root.name(), c.path(), x.getMessage());
                return new Copied(null, switch (x.kind()) {
                    case UNSAFE -> skip(e, "symbolic link", x.getMessage());
                    case LOCAL_CHANGED -> skip(e, "changed since planned", x.getMessage());
                    default -> new Result(item(e, seen.bytes(), EnforcementReport.FAILED + "offload " + x.kind().words(),
                            x.getMessage(), 0), null);
                });
            }
            // A training job that rewrote the checkpoint during the copy keeps it; the stale copy goes.
            CheckpointEntries.Observed after;
            String changed;
            try {
                after = where.observe(parent);
                changed = after.symbolicLink() != null ? after.symbolicLink() + " became a symbolic link"
                        : after.differenceFrom(c);
            } catch (UnsafePathException | NotDirectoryException | NoSuchFileException x) {
                changed = x.getMessage();
            }
            if (changed != null) {
                String removed;
                try {
                    offloader().discard(receipt);
                    removed = "; the copy at " + receipt.uri() + " was removed";
                } catch (OffloadException x) {
                    removed = "; the copy at " + receipt.uri() + " could not be removed: " + x.getMessage();
                }
                history(c.key(), OffloadReceipt.FAILED_EVENT, "changed during the copy: " + changed + removed);
                return new Copied(null, skip(e, "changed since planned", "changed during the copy: " + changed + removed));
            }
            // Recorded before the rename: a crash after it leaves a trash entry recovery marks offloaded.
            registry.recordEvent(new HistoryEvent(c.key(), now, OffloadReceipt.EVENT, receipt.detail()));
            return new Copied("offloaded to " + receipt.uri() + " (sha256 " + receipt.sha256() + ")", null);
        }

        private Offloader offloader() throws OffloadException {
            if (remote == null) {
                try {
                    remote = RemoteFiles.open(remoteSettings != null ? remoteSettings : RemoteSettings.fromEnvironment());
                } catch (IOException x) {
                    throw new OffloadException(OffloadException.Kind.USAGE, "cannot set up remote file access: "
                            + OffloadException.describe(x), x);
                }
            }
            return new Offloader(remote, offloadListener);
        }

        /**
         * The run directories a batch looks into, each opened once through {@code O_NOFOLLOW} from
         * the root and shared by the batch's checkpoints in it; closed when the batch ends.
         */
        private final class ParentStreams implements AutoCloseable {
            private final Map<Path, SecureDirectoryStream<Path>> open = new java.util.HashMap<>();

            SecureDirectoryStream<Path> open(Path parent) throws IOException {
                SecureDirectoryStream<Path> s = open.get(parent);
                if (s == null) {
                    s = dir.openDirectory(parent);
                    open.put(parent, s);
                }
                return s;
            }

            @Override
            public void close() {
                for (SecureDirectoryStream<Path> s : open.values()) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // a directory descriptor that fails to close has nothing left to lose
                    }
                }
                open.clear();
            }
        }

        void closeRemote() {
            if (remote != null) {
                remote.close();
                remote = null;
            }
        }

        private void history(String path, String event, String detail) {
            try {
                registry.recordEvent(new HistoryEvent(path, now, event, detail));
            } catch (RuntimeException x) {
                problems.add("registry history not updated for " + path + ": " + x.getMessage());
            }
        }

        private Result gone(Eviction e, boolean registeredGone) {
            if (!dryRun && action != Action.REPORT && !registeredGone) {
                markGone(e.checkpoint().key(), CheckpointState.DELETED, "gone from disk", now, problems);
            }
            String outcome = dryRun ? EnforcementReport.DRY_RUN
                    : action == Action.REPORT ? EnforcementReport.REPORT : EnforcementReport.OK;
            return new Result(item(e, 0, outcome, "already gone", 0), null);
        }

        private Result skip(Eviction e, String why, String detail) {
            return new Result(item(e, e.checkpoint().bytes(), EnforcementReport.SKIPPED + why, detail, 0), null);
        }

        private Item item(Eviction e, long bytes, String outcome, String detail, long freed) {
            Checkpoint c = e.checkpoint();
            return new Item(c.path(), c.run(), bytes, e.reason(), outcome, detail, freed);
        }
    }

    /** Refusals that need no look at the disk: wrong root, watch-only, protected, and the registry's row now. */
    static Refusal protection(RootConfig root, Eviction e, Optional<Checkpoint> row) {
        Checkpoint c = e.checkpoint();
        if (!root.name().equals(c.root())) {
            return new Refusal("other root", "belongs to root " + c.root() + ", not " + root.name());
        }
        if (root.retention() == null && !Eviction.MANUAL.equals(e.reason())) {
            return new Refusal("watch-only root", "root " + root.name() + " has no retention; only a manual "
                    + "eviction removes from it");
        }
        for (String w : e.why()) {
            if (w.startsWith(PROTECTED_REASON)) {
                return new Refusal("protected", w);
            }
        }
        Refusal planned = stateRefusal(c);
        if (planned != null) {
            return planned;
        }
        if (row.isEmpty()) {
            return new Refusal("not registered", "no registry row for " + c.key());
        }
        Checkpoint now = row.get();
        if (!now.state().present()) {
            return null; // the disk decides: gone is success, still there is refused
        }
        Refusal current = stateRefusal(now);
        if (current != null) {
            return current;
        }
        if (!Objects.equals(now.signature(), c.signature())) {
            return new Refusal("changed since planned", "the registry has seen a newer version since the plan");
        }
        return null;
    }

    private static Refusal stateRefusal(Checkpoint c) {
        if (c.pinned()) {
            return new Refusal("pinned", c.pinReason());
        }
        if (c.state() == CheckpointState.WRITING) {
            return new Refusal("writing", c.note());
        }
        if (c.state() == CheckpointState.CORRUPT) {
            return new Refusal("corrupt", c.problems().isEmpty() ? c.note() : String.join("; ", c.problems()));
        }
        return null;
    }

    private static IOException asIo(Exception x) {
        return x instanceof IOException io ? io : new IOException(x.toString(), x);
    }
}
