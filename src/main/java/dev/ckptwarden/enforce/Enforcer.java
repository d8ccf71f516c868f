package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.enforce.EnforcementReport.Item;
import dev.ckptwarden.offload.OffloadListener;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;



/**
 * Enforcement of one root: the entry point of the one deletion protocol (SPEC "Deletion: how, safely"),
 * the same for a local, an SFTP and an S3 root. It asks first whether this process may delete at all
 * (the registry's deletion hold, the guard), opens the root's {@link TrashBackend} ({@link LocalTrash},
 * {@link SftpTrash}, {@link S3Trash}) and hands the evictions to {@link DeletionProtocol}, which batches
 * them and, per batch, checks the guard and a stop, writes the audit {@code begin} lines, the refusals,
 * a fresh look, the signed manifest, the move into the trash, the registry, the audit {@code end} lines
 * and the purge. At a start, {@link #recover} finishes what a crash interrupted ({@link TrashRecovery}).
 *
 * <p>Each eviction ends with an {@link Outcome}: removed ({@code ok}); {@code dry-run} and {@code report}
 * (nothing touched, nothing written to the audit log or registry); skipped, with an
 * {@link Outcome.Skip} saying why; or failed, with an {@link Outcome.Failure}.
 *
 * <p>{@code action: offload} adds a step before each move, inside the eviction's audit lines
 * ({@link OffloadStep}): the copy to the root's offload target, verified, and recorded in the registry;
 * a failed copy moves nothing.
 */
public final class Enforcer {
    private static final Logger log = LoggerFactory.getLogger(Enforcer.class);
    /**
     * Evictions that share one forced write of their audit {@code begin} lines, one trash manifest
     * file and one forced write of their {@code end} lines. Bounded so that the directories held open
     * for a batch stay few, and a crash leaves at most this many evictions to finish.
     */
    static final int BATCH = 1024;
    /** {@link #BATCH} unless a test asks for smaller batches. */
    private int localBatch = BATCH;

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
    /** Ids of this enforcer's evictions. */
    private final EvictionIds ids = new EvictionIds();

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

    /** Item detail while the registry holds deletions ({@link Registry#deletionHold()}). */
    static final String HELD = "registry lost: deleting nothing until it is rebuilt or started fresh";
    private volatile boolean stopping;

    /**
     * Asks passes in progress to end after the batch they are in: later batches, and offload copies
     * not yet started, are skipped ({@code skipped:agent stopping}) and left for the next start.
     */
    public void stop() {
        stopping = true;
    }

    /**
     * Why this process may not delete now, or null when it may: asked before each batch. The registry first
     * (held after it was lost, or replaced under this process since it was opened), then the guard.
     */
    private String refusal(RootConfig root) {
        try {
            Optional<String> hold = registry.deletionHold();
            if (hold.isPresent()) {
                return hold.get();
            }
        } catch (RuntimeException x) {
            return cannotAsk(x);
        }
        return guardRefusal(root);
    }

    private static String cannotAsk(RuntimeException x) {
        return "the registry cannot be asked: " + (x.getMessage() == null ? x.toString() : x.getMessage());
    }

    /** Why the guard says this process may not delete now, or null when it may. */
    private String guardRefusal(RootConfig root) {
        try {
            guard.check(root.name());
            return null;
        } catch (IOException | RuntimeException x) {
            return x.getMessage() == null ? x.toString() : x.getMessage();
        }
    }

    /** How many evictions of a local root share a batch; the crash tests make it small, to kill between batches. */
    void batchSize(int evictions) {
        if (evictions < 1) {
            throw new IllegalArgumentException("batch size " + evictions);
        }
        this.localBatch = evictions;
    }

    /** Sets what is asked before each batch of evictions whether this process may still delete. */
    public void guardWith(DeletionGuard guard) {
        this.guard = Objects.requireNonNull(guard, "guard");
    }

    /**
     * One enforcement pass over one root.
     *
     * @param rootDir   a local root's directory as configured ({@code root.localPath()}; links in it are
     *                  resolved only to open it); ignored for a remote root
     * @param evictions what to remove, in this order
     * @param dryRun    true: check everything, touch nothing, write nothing; report what would happen
     * @param now       the pass's single reading of the clock (registry times, trash entry ids)
     * @throws SecureDeletionUnavailableException when the root's file system has no secure directory streams
     * @throws EnforcementBusyException           when another pass holds the root's trash
     * @throws IOException                        when the root or its trash cannot be opened
     */
    public EnforcementReport enforce(RootConfig root, Path rootDir, List<Eviction> evictions, boolean dryRun, Instant now)
            throws IOException {
        boolean destructive = !dryRun && (root.action() == Action.DELETE || root.action() == Action.OFFLOAD);
        List<String> problems = new ArrayList<>();
        if (destructive && !evictions.isEmpty()) {
            EnforcementReport refused = refusedAtStart(root, rootDir, evictions, problems);
            if (refused != null) {
                return refused;
            }
        }
        if (destructive && audit == null) {
            throw new IllegalStateException("deleting needs an audit log");
        }
        if (!root.isLocal() && evictions.isEmpty()) {
            return new EnforcementReport(root.name(), RemoteLocation.path(root.path()), root.action(), dryRun,
                    List.of(), problems);
        }
        // Nothing to remove opens no trash: a pass with nothing to do leaves the root as it was.
        boolean opensTrash = destructive && !evictions.isEmpty();
        try (Opened opened = open(root, rootDir, opensTrash);
             OffloadStep offload = opensTrash && root.action() == Action.OFFLOAD ? new OffloadStep(root, registry,
                     remoteSettings, offloadListener, now, problems, () -> stopping) : null) {
            List<Item> items = new DeletionProtocol(new DeletionProtocol.Pass(root, registry, audit, listener,
                    opened.backend(), opensTrash ? manifestKey() : null, ids, offload, dryRun, now, problems,
                    () -> stopping, () -> refusal(root))).run(evictions);
            return new EnforcementReport(root.name(), opened.backend().shown(), root.action(), dryRun, items,
                    problems);
        }
    }

    /** The report of a pass refused before anything is touched (a stop, a deletion hold, the guard), or null. */
    private EnforcementReport refusedAtStart(RootConfig root, Path rootDir, List<Eviction> evictions,
                                             List<String> problems) {
        // A registry that lost what it knew (pins above all) may not direct a deletion, whoever holds the lease.
        Optional<String> hold;
        String refused = null;
        try {
            hold = stopping ? Optional.empty() : registry.deletionHold();
        } catch (RuntimeException x) {
            hold = Optional.empty();
            refused = cannotAsk(x);
        }
        if (!stopping && refused == null) {
            refused = hold.orElseGet(() -> guardRefusal(root));
        }
        if (!stopping && refused == null) {
            return null;
        }
        if (refused != null) {
            problems.add("root " + root.name() + ": not allowed to delete now: " + refused);
        }
        // The whole story is in the problem line once; each item only says which it was.
        String detail = hold.isPresent() ? HELD : refused;
        List<Item> items = new ArrayList<>(evictions.size());
        for (Eviction e : evictions) {
            Item item = new Item(e.checkpoint().path(), e.checkpoint().run(), e.checkpoint().bytes(), e.cause(),
                    stopping ? Outcome.skipped(Outcome.Skip.AGENT_STOPPING, detail)
                            : Outcome.failed(Outcome.Failure.NOT_ALLOWED, detail), 0);
            items.add(item);
            listener.finished(item);
        }
        Path shown = root.isLocal() ? rootDir : RemoteLocation.path(root.path());
        return new EnforcementReport(root.name(), shown, root.action(), false, items, problems);
    }

    /**
     * What a start does first for each root: finishes evictions a crash interrupted from their signed
     * manifests ({@link TrashRecovery}), records them in the registry and with an audit {@code end} line,
     * then purges the trash. A local root without a trash directory is left as it is. For a local root the
     * same is done in the trash of each file system mounted inside it ({@code <mount point>/.ckpt-warden-trash},
     * mount points from the kernel's table, never from anything written in the root).
     *
     * @return one item per interrupted eviction ({@code ok}, or {@code skipped:interrupted before rename}
     *         when it had moved nothing and the checkpoint is whole in place); {@code freed} counts the
     *         sizes the manifests recorded; refused manifests and purge failures are problems
     */
    public EnforcementReport recover(RootConfig root, Path rootDir, Instant now) throws IOException {
        if (audit == null) {
            throw new IllegalStateException("recovering needs an audit log");
        }
        List<Item> items = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        TrashRecovery recovery = new TrashRecovery(root, registry, audit, manifestKey());
        if (!root.isLocal()) {
            try (Opened opened = open(root, null, true)) {
                recovery.recover(opened.backend(), now, items, problems);
            }
            return new EnforcementReport(root.name(), RemoteLocation.path(root.path()), root.action(), false, items,
                    problems);
        }
        Path shown;
        try (RootDirectory dir = RootDirectory.open(rootDir)) {
            shown = dir.path();
            if (hasTrash(dir)) {
                recoverLocal(root, dir, () -> TrashBin.open(dir, manifestKey()), recovery, now, items, problems);
            }
            // The trash of each file system mounted inside the root, found from the kernel's mount table.
            for (Path mount : MountPoints.inside(rootDir.toRealPath())) {
                if (hasTrash(dir, mount)) {
                    recoverLocal(root, dir, () -> TrashBin.openAt(dir, mount, manifestKey()), recovery, now, items, problems);
                }
            }
        }
        return new EnforcementReport(root.name(), shown, root.action(), false, items, problems);
    }

    /** Opens one local trash; {@link UntrustedTrashException} when it is not the agent's. */
    private interface TrashOpener {
        TrashBin open() throws IOException;
    }

    private void recoverLocal(RootConfig root, RootDirectory dir, TrashOpener opener, TrashRecovery recovery, Instant now,
                              List<Item> items, List<String> problems) throws IOException {
        TrashBin trash;
        try {
            trash = opener.open();
        } catch (UntrustedTrashException refused) {
            // Someone else's trash: nothing in it is rolled forward or purged.
            log.warn("root {}: {}", root.name(), refused.getMessage());
            problems.add(refused.getMessage());
            return;
        }
        try (trash; LocalTrash backend = new LocalTrash(dir, trash)) {
            recovery.recover(backend, now, items, problems);
        }
    }

    /** A root's backend and what it holds open, closed together. */
    private record Opened(TrashBackend backend, Closeable... held) implements Closeable {
        @Override
        public void close() throws IOException {
            backend.close();
            IOException failed = null;
            for (int i = held.length - 1; i >= 0; i--) {
                try {
                    if (held[i] != null) {
                        held[i].close();
                    }
                } catch (IOException x) {
                    failed = x;
                }
            }
            if (failed != null) {
                throw failed;
            }
        }
    }

    /** Opens the root's backend; a local root's trash only when {@code withTrash} (it is created if absent). */
    private Opened open(RootConfig root, Path rootDir, boolean withTrash) throws IOException {
        if (!root.isLocal()) {
            RemoteFiles files = RemoteFiles.open(remoteSettings != null ? remoteSettings : RemoteSettings.fromEnvironment());
            try {
                RemoteEntries entries = new RemoteEntries(files.resolve(root.path()), root.path());
                boolean s3 = URI.create(root.path().strip()).getScheme().toLowerCase(Locale.ROOT).equals("s3");
                return new Opened(s3 ? new S3Trash(entries) : new SftpTrash(entries), files);
            } catch (IOException | RuntimeException x) {
                files.close();
                throw x;
            }
        }
        RootDirectory dir = RootDirectory.open(rootDir);
        try {
            TrashBin trash = withTrash ? TrashBin.open(dir, manifestKey()) : null;
            return new Opened(new LocalTrash(dir, trash, localBatch), dir, trash);
        } catch (IOException | RuntimeException x) {
            dir.close();
            throw x;
        }
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

    /** Whether the directory {@code base} of the root (reached without following a link) has a trash. */
    private static boolean hasTrash(RootDirectory dir, Path base) throws IOException {
        try (SecureDirectoryStream<Path> s = dir.openDirectory(base)) {
            RootDirectory.lstat(s, dir.name(TrashBin.DIR_NAME));
            return true;
        } catch (NoSuchFileException | UnsafePathException | NotDirectoryException absent) {
            return false; // not reachable inside the root without a link: not a trash of it
        }
    }
}
