package dev.ckptwarden.enforce;

import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.offload.OffloadException;
import dev.ckptwarden.offload.OffloadListener;
import dev.ckptwarden.offload.OffloadReceipt;
import dev.ckptwarden.offload.Offloader;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * {@code action: offload}'s copy, the step before an eviction's move ({@link PreMoveStep}; see
 * {@link Offloader}): the checkpoint is copied to the root's offload target and verified, read through
 * the descriptors of the protocol's look; then looked at again (a checkpoint rewritten during the copy
 * is kept, and the copy removed). The registry gets a history event {@value OffloadReceipt#EVENT} with
 * the remote URI and checksum before the move, so a crash after it leaves a trash entry that recovery
 * marks offloaded. A failed copy moves nothing: {@link Outcome#offloadFailed} and a history event
 * {@value OffloadReceipt#FAILED_EVENT} saying why.
 */
final class OffloadStep implements PreMoveStep, Closeable {
    private static final Logger log = LoggerFactory.getLogger(OffloadStep.class);

    private final RootConfig root;
    private final Registry registry;
    /** How offload targets are reached; null: from the environment, when first needed. */
    private final RemoteSettings settings;
    private final OffloadListener offloadListener;
    private final Instant now;
    private final List<String> problems;
    private final BooleanSupplier stopping;
    private RemoteFiles remote;

    OffloadStep(RootConfig root, Registry registry, RemoteSettings settings, OffloadListener offloadListener,
                Instant now, List<String> problems, BooleanSupplier stopping) {
        this.root = root;
        this.registry = registry;
        this.settings = settings;
        this.offloadListener = offloadListener;
        this.now = now;
        this.problems = problems;
        this.stopping = stopping;
    }

    @Override
    public Result before(Eviction e, TrashBackend.Look look) throws IOException {
        Registered c = e.checkpoint();
        CheckpointEntries.Observed seen = look.observed();
        if (stopping.getAsBoolean()) {
            return Result.stop(Outcome.skipped(Outcome.Skip.AGENT_STOPPING, "not copied: the agent is stopping"),
                    c.bytes());
        }
        if (!(look instanceof LocalTrash.LocalLook local)) {
            return Result.stop(Outcome.failed(Outcome.Failure.OFFLOAD_FROM_REMOTE_ROOT,
                    "action: offload applies to local roots; nothing was touched"), seen.bytes());
        }
        if (root.offload() == null) {
            return Result.stop(Outcome.failed(Outcome.Failure.OFFLOAD_NO_TARGET,
                    "action: offload without an offload: target; nothing was touched"), seen.bytes());
        }
        CheckpointEntries where = seen.where();
        String rel = local.rootPath().relativize(c.path()).toString().replace(java.io.File.separatorChar, '/');
        OffloadReceipt receipt;
        try (DescriptorSource source = new DescriptorSource(local.parent(), where.names())) {
            receipt = offloader().copy(root.offload(), root.name(), rel, source);
        } catch (OffloadException x) {
            history(c.key(), OffloadReceipt.FAILED_EVENT, x.getMessage());
            log.warn("root {}: offload of {} failed: {}", root.name(), c.path(), x.getMessage());
            return switch (x.kind()) {
                case UNSAFE -> Result.stop(Outcome.skipped(Outcome.Skip.SYMBOLIC_LINK, x.getMessage()), c.bytes());
                case LOCAL_CHANGED -> Result.stop(Outcome.skipped(Outcome.Skip.CHANGED_SINCE_PLANNED, x.getMessage()),
                        c.bytes());
                default -> Result.stop(Outcome.offloadFailed(x.kind(), x.getMessage()), seen.bytes());
            };
        }
        // A training job that rewrote the checkpoint during the copy keeps it; the stale copy goes.
        String changed;
        try {
            CheckpointEntries.Observed after = where.observe(local.parent());
            changed = after.symbolicLink() != null ? after.symbolicLink() + " became a symbolic link"
                    : after.differenceFrom(c.facts());
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
            return Result.stop(Outcome.skipped(Outcome.Skip.CHANGED_SINCE_PLANNED,
                    "changed during the copy: " + changed + removed), c.bytes());
        }
        // Recorded before the move: a crash after it leaves a trash entry recovery marks offloaded.
        registry.recordEvent(new HistoryEvent(c.key(), now, OffloadReceipt.EVENT, receipt.detail()));
        return Result.go("offloaded to " + receipt.uri() + " (sha256 " + receipt.sha256() + ")");
    }

    private Offloader offloader() throws OffloadException {
        if (remote == null) {
            try {
                remote = RemoteFiles.open(settings != null ? settings : RemoteSettings.fromEnvironment());
            } catch (IOException x) {
                throw new OffloadException(OffloadException.Kind.USAGE, "cannot set up remote file access: "
                        + ErrorLine.causes(x), x);
            }
        }
        return new Offloader(remote, offloadListener);
    }

    private void history(String path, String event, String detail) {
        try {
            registry.recordEvent(new HistoryEvent(path, now, event, detail));
        } catch (RuntimeException x) {
            problems.add("registry history not updated for " + path + ": " + x.getMessage());
        }
    }

    @Override
    public void close() {
        if (remote != null) {
            remote.close();
            remote = null;
        }
    }
}
