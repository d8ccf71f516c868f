package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementReport.Item;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.policy.Reason;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The one deletion protocol, the same for every kind of root; a {@link TrashBackend} supplies only the
 * look, the move into the trash and the purge. Evictions go in batches ({@link TrashBackend#batchSize()}).
 * Before each batch: a stop ends the pass, and the guard (cluster lease and fencing) is asked again.
 * Then, per batch: the audit {@code begin} lines written together and forced to disk on another thread
 * while the registry's rows are read once, and for each eviction the refusals of {@link Protection}, a
 * fresh look (unchanged since the plan) and a {@link PreMoveStep} if any (the begin lines are waited for
 * before a step); one manifest naming every eviction that passed, signed with the state directory's
 * {@link ManifestKey} and stored durably in the trash; then, once the begin lines are on disk, for each a
 * last look and the move; the registry told of all of them; the {@code end} lines forced together; and
 * the purge (for a local root on other threads, while the next batch goes on: {@link TrashBackend#purgesAside};
 * a pass ends when its last purge has). A batch
 * thus pays three forced writes before its moves, two of them at the same time (the begin lines, and the
 * manifest with its directory), and one after. A crash anywhere leaves each checkpoint whole in place or
 * in the trash under a signed manifest, which {@link TrashRecovery} finishes at the next start. "Already
 * gone" anywhere along the way is success.
 *
 * <p>Why this class is long: the order of a batch's steps is the protocol's safety (a begin line on disk
 * before any move, end lines on disk before the purge; {@code BatchCrashTest} kills a process at each
 * point), and it is read in one method here, with the waiting on the begin lines and on the previous
 * batch's purge beside it, rather than spread over classes that would each hold part of that order.
 */
final class DeletionProtocol {
    private static final Logger log = LoggerFactory.getLogger(DeletionProtocol.class);

    /** Threads beside the protocol's own: the forcing of begin lines, the purges and their unlinks. */
    private static final int WORKERS = TrashBin.PURGE_TASKS + 2;

    private final Pass pass;
    private final Action action;
    private String auditBroken;
    /** Every eviction's item so far, in order; an item is added once its batch's purge has ended. */
    private final List<Item> items = new ArrayList<>();
    /** The batch whose purge may still be running, or null. */
    private Purging purging;
    /** Null outside a destructive {@link #run}. */
    private ExecutorService workers;
    /** The current batch's registry rows by path, read once; null outside a batch. */
    private Map<String, Registered> rows;

    /** The collaborators of one pass; {@code key} and {@code audit} may be null when nothing is deleted. */
    record Pass(RootConfig root, Registry registry, AuditLog audit, EnforcementListener listener, TrashBackend backend,
                ManifestKey key, EvictionIds ids, PreMoveStep step, boolean dryRun, Instant now, List<String> problems,
                BooleanSupplier stopping, Supplier<String> refusal) {
    }

    DeletionProtocol(Pass pass) {
        this.pass = pass;
        this.action = pass.root().action();
    }

    private boolean destructive() {
        return !pass.dryRun() && (action == Action.DELETE || action == Action.OFFLOAD);
    }

    /** Every eviction in order; each item is told to the listener as it is decided (after its purge, if any). */
    List<Item> run(List<Eviction> evictions) {
        if (!destructive()) {
            for (Eviction e : evictions) {
                Item item = look(e);
                items.add(item);
                pass.listener().finished(item);
            }
            return items;
        }
        int size = pass.backend().batchSize();
        AtomicInteger threads = new AtomicInteger();
        workers = Executors.newFixedThreadPool(WORKERS, r -> {
            Thread t = new Thread(r, "ckpt-warden-evict-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            for (int from = 0; from < evictions.size(); from += size) {
                Item[] out = evictBatch(evictions.subList(from, Math.min(evictions.size(), from + size)));
                if (out != null) {
                    finishPurge();
                    finish(out);
                }
            }
            finishPurge();
        } finally {
            workers.shutdown();
        }
        return items;
    }

    private void finish(Item[] out) {
        for (Item item : out) {
            items.add(item);
            pass.listener().finished(item);
        }
    }

    /** A batch whose end lines are on disk and whose purge runs on the workers. */
    private record Purging(Item[] out, List<Integer> settleAt, Future<long[]> freed) {
    }

    /** Waits for the running purge, if any, and adds its batch's items with the bytes it freed. */
    private void finishPurge() {
        Purging p = purging;
        if (p == null) {
            return;
        }
        purging = null;
        long[] freed;
        try {
            freed = p.freed().get();
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            freed = new long[p.settleAt().size()];
            pass.problems().add("evicted checkpoints may be left in " + pass.backend().trashName()
                    + " (interrupted while they were deleted); the next start deletes them");
        } catch (ExecutionException x) {
            Throwable why = x.getCause();
            if (why instanceof PartialPurgeException partial) {
                freed = partial.freed();
                pass.problems().add("some evicted checkpoints were left in " + pass.backend().trashName() + " ("
                        + ErrorLine.reason(partial) + "); the next start deletes them");
            } else {
                freed = new long[p.settleAt().size()];
                IOException io = why instanceof IOException i ? i : new IOException(String.valueOf(why), why);
                pass.problems().add("evicted checkpoints left in " + pass.backend().trashName() + " ("
                        + ErrorLine.reason(io) + "); the next start deletes them");
            }
        }
        for (int k = 0; k < p.settleAt().size(); k++) {
            p.out()[p.settleAt().get(k)] = p.out()[p.settleAt().get(k)].withFreed(Math.max(0, freed[k]));
        }
        finish(p.out());
    }

    /** A dry run or {@code action: report}: every check, nothing touched, nothing written. */
    private Item look(Eviction e) {
        try {
            return prepare(e, null, -1).result().item();
        } catch (IOException | RuntimeException x) {
            return failed(e, x);
        } finally {
            pass.backend().endBatch();
        }
    }

    private static Item[] all(List<Eviction> batch, Outcome outcome) {
        Item[] out = new Item[batch.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = item(batch.get(i), batch.get(i).checkpoint().bytes(), outcome);
        }
        return out;
    }

    /**
     * One batch, as the class comment says: its items, or null when they are left to its purge
     * ({@link #purging}, added by {@link #finishPurge}).
     */
    private Item[] evictBatch(List<Eviction> batch) {
        pass.listener().reached(EnforcementListener.BatchPoint.STARTING, batch.size());
        if (pass.stopping().getAsBoolean()) {
            return all(batch, Outcome.skipped(Outcome.Skip.AGENT_STOPPING, null));
        }
        // The lease may be lost between batches (another agent took over): ask again each time.
        String why = pass.refusal().get();
        if (why != null) {
            String line = "root " + pass.root().name() + ": not allowed to delete now: " + why;
            if (!pass.problems().contains(line)) {
                pass.problems().add(line);
            }
            return all(batch, Outcome.failed(Outcome.Failure.NOT_ALLOWED, why));
        }
        String[] idOf = new String[batch.size()];
        Future<Void> beginsDurable = null;
        if (auditBroken == null) {
            List<AuditRecord> begins = new ArrayList<>(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                Eviction e = batch.get(i);
                Registered c = e.checkpoint();
                idOf[i] = pass.ids().next(pass.now());
                begins.add(new AuditRecord(pass.now(), AuditRecord.BEGIN, idOf[i], c.key(), pass.root().name(), c.run(), c.bytes(),
                        e.cause().id(), action.id(), Reason.texts(e.why()), null, null));
            }
            try {
                AuditLog.Written written = pass.audit().write(begins);
                // Forced beside the looks and the manifest (whose own fsyncs it may share a journal commit with);
                // waited for before anything of the batch moves, or is copied by a step.
                beginsDurable = workers.submit(() -> {
                    pass.audit().force(written);
                    return null;
                });
            } catch (IOException x) {
                auditBroken = "audit log " + pass.audit().file() + ": " + ErrorLine.reason(x);
                pass.problems().add(auditBroken);
            }
        }
        if (auditBroken != null) {
            return all(batch, Outcome.failed(Outcome.Failure.AUDIT_LOG_UNAVAILABLE, auditBroken));
        }
        if (pass.step() != null && !durable(beginsDurable)) {
            return all(batch, Outcome.failed(Outcome.Failure.AUDIT_LOG_UNAVAILABLE, auditBroken));
        }
        Item[] out = new Item[batch.size()];
        List<TrashManifest> settle = new ArrayList<>();
        List<Integer> settleAt = new ArrayList<>();
        String manifestFile = null;
        List<String> keys = new ArrayList<>(batch.size());
        batch.forEach(e -> keys.add(e.checkpoint().key()));
        try {
            rows = pass.registry().byPaths(keys);
        } catch (RuntimeException x) {
            rows = null; // each eviction asks on its own, and fails on its own with an end line
        }
        List<Ready> ready = new ArrayList<>();
        try {
            for (int i = 0; i < batch.size(); i++) {
                try {
                    Prepared p = prepare(batch.get(i), idOf[i], i);
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
                    manifestFile = storeManifests(ready);
                } catch (IOException x) {
                    for (Ready r : ready) {
                        out[r.index()] = failed(r.eviction(), x);
                    }
                    ready = List.of();
                }
            }
            if (!durable(beginsDurable)) {
                // Nothing has moved: the manifest goes again, and every eviction of the batch fails as a begin
                // line that could not be written always has.
                forget(manifestFile);
                return all(batch, Outcome.failed(Outcome.Failure.AUDIT_LOG_UNAVAILABLE, auditBroken));
            }
            pass.listener().reached(EnforcementListener.BatchPoint.BEGINS_DURABLE, batch.size());
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
            recordGone(ready, settleAt, out);
        } finally {
            rows = null;
            pass.backend().endBatch();
        }
        pass.listener().reached(EnforcementListener.BatchPoint.MOVED, batch.size());
        if (!writeEnds(batch, idOf, out)) {
            return out;
        }
        pass.listener().reached(EnforcementListener.BatchPoint.ENDS_DURABLE, batch.size());
        if (manifestFile == null) {
            return out;
        }
        // One purge at a time: the previous batch's items are complete before this one's start.
        finishPurge();
        String file = manifestFile;
        List<TrashManifest> moved = List.copyOf(settle);
        Future<long[]> freed;
        if (pass.backend().purgesAside()) {
            freed = workers.submit(() -> pass.backend().purge(file, moved, workers));
        } else {
            CompletableFuture<long[]> here = new CompletableFuture<>();
            try {
                here.complete(pass.backend().purge(file, moved, null));
            } catch (IOException | RuntimeException x) {
                here.completeExceptionally(x);
            }
            freed = here;
        }
        purging = new Purging(out, List.copyOf(settleAt), freed);
        return null;
    }

    /** Waits for the batch's begin lines to be on disk; false (and the audit log broken) when they could not be. */
    private boolean durable(Future<Void> beginsDurable) {
        try {
            beginsDurable.get();
            return true;
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            auditBroken = "audit log " + pass.audit().file() + ": interrupted while its begin lines were forced to disk";
        } catch (ExecutionException x) {
            IOException io = x.getCause() instanceof IOException i ? i : new IOException(String.valueOf(x.getCause()), x.getCause());
            auditBroken = "audit log " + pass.audit().file() + ": " + ErrorLine.reason(io);
        }
        pass.problems().add(auditBroken);
        return false;
    }

    /** Deletes a stored manifest of a batch that moves nothing after all (its members are whole in place). */
    private void forget(String manifestFile) {
        if (manifestFile == null) {
            return;
        }
        try {
            pass.backend().purge(manifestFile, List.of(), null);
        } catch (IOException | RuntimeException x) {
            log.warn("root {}: manifest {} of a batch that moved nothing left in {}: {}", pass.root().name(), manifestFile,
                    pass.backend().trashName(), x.toString());
        }
    }

    /** The batch's manifests, one signed line each, stored as one file. */
    private String storeManifests(List<Ready> ready) throws IOException {
        List<TrashBackend.Signed> lines = new ArrayList<>(ready.size());
        for (Ready r : ready) {
            lines.add(new TrashBackend.Signed(r.manifest(), r.manifest().toBytes(pass.key())));
        }
        String fileId = ready.size() == 1 ? ready.get(0).manifest().id() : pass.ids().next(pass.now()) + "-batch";
        return pass.backend().storeManifest(fileId, lines);
    }

    /** The batch's {@code end} lines, forced together; false (and nothing purged) when they could not be written. */
    private boolean writeEnds(List<Eviction> batch, String[] idOf, Item[] out) {
        List<AuditRecord> ends = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Registered c = batch.get(i).checkpoint();
            ends.add(new AuditRecord(pass.now(), AuditRecord.END, idOf[i], c.key(), pass.root().name(), c.run(), out[i].bytes(),
                    batch.get(i).cause().id(), action.id(), List.of(), out[i].outcome(), out[i].detail()));
        }
        try {
            pass.audit().appendAll(ends);
            return true;
        } catch (IOException x) {
            // Deleting what the log does not record as ended would lose the record for good: the trash
            // keeps them with their manifest, and the next start writes the end lines, then deletes.
            auditBroken = "audit log " + pass.audit().file() + ": " + ErrorLine.reason(x);
            pass.problems().add("audit log " + pass.audit().file() + ": end lines for " + batch.size() + " eviction(s) not written ("
                    + ErrorLine.reason(x) + "); their checkpoints stay in " + pass.backend().trashName()
                    + " until a start records them");
            return false;
        }
    }

    /** The registry learns of every checkpoint the batch moved, in one write per (state, cause). */
    private void recordGone(List<Ready> ready, List<Integer> moved, Item[] out) {
        CheckpointState state = action == Action.OFFLOAD ? CheckpointState.OFFLOADED : CheckpointState.DELETED;
        Map<CheckpointState, Map<EvictionCause, List<String>>> groups = new EnumMap<>(CheckpointState.class);
        Set<Integer> movedSet = new HashSet<>(moved);
        for (Ready r : ready) {
            if (movedSet.contains(r.index())) {
                groups.computeIfAbsent(state, k -> new EnumMap<>(EvictionCause.class))
                        .computeIfAbsent(r.eviction().cause(), k -> new ArrayList<>()).add(r.eviction().checkpoint().key());
            }
        }
        groups.forEach((s, byCause) -> byCause.forEach((cause, paths) -> {
            try {
                pass.registry().markGone(paths, s, pass.now(), cause.id());
            } catch (RuntimeException e) {
                pass.problems().add("registry not updated for " + paths.size() + " evicted checkpoint(s), e.g. "
                        + paths.get(0) + ": " + e.getMessage());
            }
        }));
        for (int i : moved) {
            Item it = out[i];
            log.info("root {}: evicted {} ({}, {} bytes){}", pass.root().name(), it.path(), it.cause().id(), it.bytes(),
                    it.detail() == null ? "" : ", " + it.detail());
        }
    }

    /** The move of one ready checkpoint, after the backend's last look that it is what its manifest says. */
    private Result move(Ready r) throws IOException {
        Eviction e = r.eviction();
        Registered c = e.checkpoint();
        TrashBackend.Moved moved = pass.backend().moveToTrash(r.look(), r.manifest(), m -> pass.listener().renamed(c.path(), m));
        if (moved.refused() != null) {
            return skip(e, moved.refused());
        }
        if (moved.names().isEmpty()) {
            return gone(e, r.registeredGone());
        }
        String detail = moved.names().size() < r.manifest().members().size() ? "some members were already gone" : null;
        if (r.detail() != null) {
            detail = detail == null ? r.detail() : r.detail() + "; " + detail;
        }
        return new Result(item(e, r.manifest().bytes(), Outcome.removed(detail)), r.manifest());
    }

    /** Every check of one eviction short of the move: the refusals, a fresh look, and the step if any. */
    private Prepared prepare(Eviction e, String id, int index) throws IOException {
        Registered c = e.checkpoint();
        Optional<Registered> row = rows != null ? Optional.ofNullable(rows.get(c.key())) : pass.registry().byPath(c.key());
        Refusal refused = Protection.refusal(pass.root(), e, row);
        if (refused != null) {
            return done(skip(e, refused));
        }
        boolean registeredGone = row.isPresent() && !row.get().state().present();
        TrashBackend.Look look;
        try {
            look = pass.backend().look(c.facts());
        } catch (UnsafePathException u) {
            return done(skip(e, new Refusal(Outcome.Skip.OUTSIDE_ROOT, u.getMessage())));
        }
        if (look.refused() != null) {
            return done(skip(e, look.refused()));
        }
        CheckpointEntries.Observed seen = look.observed();
        if (seen.allMissing()) {
            return done(gone(e, registeredGone));
        }
        if (registeredGone) {
            return done(skip(e, new Refusal(Outcome.Skip.NOT_PRESENT,
                    "the registry records it as " + row.get().state().id())));
        }
        String diff = seen.differenceFrom(c.facts());
        if (diff != null) {
            return done(skip(e, new Refusal(Outcome.Skip.CHANGED_SINCE_PLANNED, diff)));
        }
        if (pass.dryRun()) {
            return done(new Result(item(e, seen.bytes(), Outcome.dryRun(null)), null));
        }
        if (action == Action.REPORT) {
            return done(new Result(item(e, seen.bytes(), Outcome.report(null)), null));
        }
        String detail = null;
        if (pass.step() != null) {
            PreMoveStep.Result r = pass.step().before(e, look);
            if (r.stop() != null) {
                return done(new Result(item(e, r.stopBytes(), r.stop()), null));
            }
            detail = r.detail();
        }
        TrashManifest manifest = new TrashManifest(id, pass.root().name(), c.run(), c.key(),
                seen.where().parent().toString(), seen.entries(), seen.bytes(), e.cause(), action, pass.now());
        return new Prepared(null, new Ready(index, e, look, manifest, registeredGone, detail));
    }

    private Item failed(Eviction e, Exception x) {
        Registered c = e.checkpoint();
        if (x instanceof CutShortException cut) {
            log.warn("root {}: eviction of {} cut short: {}", pass.root().name(), c.location(), cut.getMessage());
            return item(e, c.bytes(), Outcome.failed(Outcome.Failure.DELETE_CUT_SHORT, cut.getMessage()));
        }
        String why = ErrorLine.withFile(x instanceof IOException io ? io : new IOException(x.toString(), x));
        log.warn("root {}: eviction of {} failed: {}", pass.root().name(), c.location(), why);
        return item(e, c.bytes(), Outcome.ioFailed(why, null));
    }

    private Result gone(Eviction e, boolean registeredGone) {
        if (!pass.dryRun() && action != Action.REPORT && !registeredGone) {
            try {
                pass.registry().markGone(List.of(e.checkpoint().key()), CheckpointState.DELETED, pass.now(), "gone from disk");
            } catch (RuntimeException x) {
                pass.problems().add("registry not updated for " + e.checkpoint().key() + ": " + x.getMessage());
            }
        }
        String detail = "already gone";
        Outcome outcome = pass.dryRun() ? Outcome.dryRun(detail)
                : action == Action.REPORT ? Outcome.report(detail) : Outcome.removed(detail);
        return new Result(item(e, 0, outcome), null);
    }

    private static Result skip(Eviction e, Refusal r) {
        return new Result(item(e, e.checkpoint().bytes(), r.outcome()), null);
    }

    private static Item item(Eviction e, long bytes, Outcome outcome) {
        Registered c = e.checkpoint();
        return new Item(c.path(), c.run(), bytes, e.cause(), outcome, 0);
    }

    /** The result of deciding one eviction; {@code settle}: what to purge from the trash after the end line. */
    private record Result(Item item, TrashManifest settle) {
    }

    /** A checkpoint that passed every check and is ready to move once its batch's manifest is stored. */
    private record Ready(int index, Eviction eviction, TrashBackend.Look look, TrashManifest manifest,
                         boolean registeredGone, String detail) {
    }

    /** What {@code prepare} found: a final result, or a checkpoint ready to move. */
    private record Prepared(Result result, Ready ready) {
    }

    private static Prepared done(Result result) {
        return new Prepared(result, null);
    }
}
