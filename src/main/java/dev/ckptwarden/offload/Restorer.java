package dev.ckptwarden.offload;

import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.PathInspector;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.offload.OffloadException.Kind;
import dev.ckptwarden.offload.OffloadManifest.Entry;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.Registry;
import org.apache.commons.vfs2.FileObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Brings an offloaded checkpoint back into its run directory ({@code restore PATH}).
 *
 * <p>The remote copy is found from the registry's last {@value OffloadReceipt#EVENT} event (URI and
 * sha256); its manifest must carry that same sha256. Every file is downloaded into a staging
 * directory in the root's {@link Staging} area (the trash, {@code .ckpt-warden-trash/restore-<id>/}: same
 * file system, never catalogued, emptied by the next start if the process dies), its size and SHA-256 checked against the
 * manifest and the whole against the registry's checksum, its modification time set back to what it
 * was, and forced to disk; only then is it moved into place: a directory by rename, a file by a hard
 * link (which, unlike a rename, never replaces a file that appeared meanwhile). Nothing already at the
 * destination is ever overwritten. The staging area is held throughout, so no enforcement pass runs on
 * that root meanwhile.
 *
 * <p>Then the checkpoint is inspected where it now is and upserted, so the registry shows it at once
 * (state {@code complete} when it is intact, settled, as it was when offloaded); a {@value #EVENT}
 * history event records where it came from. The remote copy is left as it is (an archive).
 */
public final class Restorer {
    private static final Logger log = LoggerFactory.getLogger(Restorer.class);
    /** History event of a successful restore (detail: {@code uri=... sha256=...}). */
    public static final String EVENT = "restored";
    /** History event of a failed restore (detail: why). */
    public static final String FAILED_EVENT = "restore-failed";
    private static final int CHUNK = 1 << 20;

    private final Registry registry;
    private final RemoteFiles remote;
    private final Clock clock;
    private final Staging.Opener staging;

    /** @param staging opens a root's staging area (the enforcer's {@code TrashStaging::open}) */
    public Restorer(Registry registry, RemoteFiles remote, Clock clock, Staging.Opener staging) {
        this.registry = registry;
        this.remote = remote;
        this.clock = clock;
        this.staging = staging;
    }

    /** What was restored: the checkpoint as now registered, and where it came from. */
    public record Restored(Registered checkpoint, String uri, String sha256, long bytes) {
    }

    /**
     * @param path the checkpoint's registry key (its absolute path)
     * @throws RestoreException when nothing was restored; the registry then says why in its history
     *                          (unless the path is not an offloaded checkpoint at all)
     */
    public Restored restore(Config config, String path) throws RestoreException {
        Registered row = registry.byPath(path)
                .orElseThrow(() -> new RestoreException(path + ": not a registered checkpoint", true, null));
        if (row.state() != CheckpointState.OFFLOADED) {
            throw new RestoreException(path + " is " + row.state().id() + ", not offloaded; nothing to restore", true, null);
        }
        OffloadReceipt receipt = lastReceipt(path)
                .orElseThrow(() -> new RestoreException(path + ": the registry has no record of where it was offloaded",
                        true, null));
        try {
            Restored r = restore(config, row, receipt);
            log.info("restored {} from {} ({} bytes, sha256 {})", path, receipt.uri(), r.bytes(), receipt.sha256());
            return r;
        } catch (RestoreException e) {
            failed(path, e.getMessage());
            throw e;
        }
    }

    private Optional<OffloadReceipt> lastReceipt(String path) {
        OffloadReceipt last = null;
        for (HistoryEvent h : registry.history(path)) {
            if (OffloadReceipt.EVENT.equals(h.event())) {
                OffloadReceipt r = OffloadReceipt.parse(h.detail());
                last = r != null ? r : last;
            }
        }
        return Optional.ofNullable(last);
    }

    private void failed(String path, String why) {
        try {
            registry.recordEvent(new HistoryEvent(path, clock.instant(), FAILED_EVENT, why));
        } catch (RuntimeException e) {
            log.warn("restore of {} failed ({}) and the registry could not record it: {}", path, why, e.getMessage());
        }
    }

    private Restored restore(Config config, Registered row, OffloadReceipt receipt) throws RestoreException {
        String path = row.key();
        RootConfig root = config.roots().stream().filter(r -> r.name().equals(row.root())).findFirst()
                .orElseThrow(() -> new RestoreException(path + ": its root " + row.root() + " is no longer configured",
                        false, null));
        if (!root.isLocal()) {
            throw new RestoreException(path + ": root " + root.name() + " is not local", false, null);
        }
        Path rootDir;
        try {
            rootDir = root.localPath();
            rootDir.toRealPath(); // reachable? (paths are compared as configured, links are not resolved)
        } catch (IOException e) {
            throw new RestoreException(path + ": root " + root.name() + " not reachable: " + ErrorLine.causes(e),
                    false, e);
        }
        Path target = row.path();
        Path holder = target.getParent();
        if (!target.normalize().startsWith(rootDir) || holder == null || target.equals(rootDir)) {
            throw new RestoreException(path + " lies outside its root " + rootDir, false, null);
        }
        OffloadManifest manifest;
        FileObject remoteParent;
        try {
            FileObject manifestFo = remote.resolve(receipt.uri() + Offloader.MANIFEST_SUFFIX);
            manifest = Offloader.readManifest(manifestFo);
            remoteParent = manifestFo.getParent();
        } catch (IOException | RuntimeException e) {
            Kind k = OffloadException.classify(e, Kind.READ);
            throw new RestoreException(path + ": cannot read the manifest of " + receipt.uri() + " (" + k.words() + "): "
                    + ErrorLine.causes(e), false, e);
        }
        if (!manifest.sha256().equals(receipt.sha256())) {
            throw new RestoreException(path + ": " + receipt.uri() + " now holds sha256 " + manifest.sha256()
                    + ", the registry recorded " + receipt.sha256() + "; not restored", false, null);
        }
        Set<String> tops = new LinkedHashSet<>();
        manifest.entries().forEach(e -> tops.add(e.path().split("/", 2)[0]));
        checkNoLinks(path, rootDir, holder);
        for (String top : tops) {
            if (Files.exists(holder.resolve(top), LinkOption.NOFOLLOW_LINKS)) {
                throw new RestoreException(holder.resolve(top) + " exists; not overwritten (move it away to restore "
                        + path + ")", false, null);
            }
        }
        try (Staging area = staging.open(rootDir)) {
            Path stage = area.directory().resolve("restore-" + clock.instant().toEpochMilli() + "-"
                    + ProcessHandle.current().pid());
            try {
                Files.createDirectory(stage);
                download(path, manifest, remoteParent, stage, receipt);
                place(path, tops, stage, holder);
            } finally {
                area.discard(stage);
            }
        } catch (RestoreException e) {
            throw e;
        } catch (IOException e) {
            throw new RestoreException(path + ": " + ErrorLine.causes(e), false, e);
        }
        Registered registered = register(config, root, rootDir, row);
        registry.recordEvent(new HistoryEvent(path, clock.instant(), EVENT, "uri=" + receipt.uri() + " sha256="
                + receipt.sha256()));
        return new Restored(registered, receipt.uri(), receipt.sha256(), manifest.bytes());
    }

    /** Every existing directory from the root down to {@code holder} must be a real directory, not a link. */
    private static void checkNoLinks(String path, Path rootDir, Path holder) throws RestoreException {
        Path p = rootDir;
        for (Path name : rootDir.relativize(holder)) {
            p = p.resolve(name);
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isDirectory()) {
                    throw new RestoreException(path + ": " + p + " is " + (a.isSymbolicLink() ? "a symbolic link"
                            : "not a directory") + "; not restored", false, null);
                }
            } catch (NoSuchFileException absent) {
                return; // created below, as a plain directory
            } catch (IOException e) {
                throw new RestoreException(path + ": " + p + ": " + ErrorLine.causes(e), false, e);
            }
        }
    }

    private void download(String path, OffloadManifest manifest, FileObject remoteParent, Path stage,
                          OffloadReceipt receipt) throws IOException {
        List<Entry> got = new ArrayList<>();
        for (Entry e : manifest.entries()) {
            Path dest = stage.resolve(e.path()).normalize();
            if (!dest.startsWith(stage)) {
                throw new RestoreException(path + ": manifest entry " + e.path() + " leaves its directory", false, null);
            }
            if (e.directory()) {
                Files.createDirectories(dest);
                got.add(e);
                continue;
            }
            Files.createDirectories(dest.getParent());
            FileObject fo = Offloader.child(remoteParent, e.path());
            got.add(fetch(path, fo, dest, e));
        }
        String digest = OffloadManifest.digest(got);
        if (!digest.equals(receipt.sha256())) {
            throw new RestoreException(path + ": the files read from " + receipt.uri() + " hash to " + digest
                    + ", the registry recorded " + receipt.sha256() + "; not restored", false, null);
        }
        // Times last: writing into a directory changes its own modification time.
        for (Entry e : manifest.entries()) {
            Files.setLastModifiedTime(stage.resolve(e.path()), FileTime.fromMillis(e.modifiedMillis()));
        }
    }

    private static Entry fetch(String path, FileObject fo, Path dest, Entry expected) throws IOException {
        MessageDigest md = OffloadManifest.newDigest();
        byte[] buf = new byte[CHUNK];
        long n = 0;
        try (FileChannel out = FileChannel.open(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            try (InputStream in = fo.getContent().getInputStream()) {
                while (true) {
                    int r;
                    try {
                        r = in.read(buf);
                    } catch (IOException x) {
                        throw remote(path, fo, x);
                    }
                    if (r < 0) {
                        break;
                    }
                    md.update(buf, 0, r);
                    ByteBuffer b = ByteBuffer.wrap(buf, 0, r);
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                    n += r;
                }
            } catch (RestoreException x) {
                throw x;
            } catch (IOException | RuntimeException x) {
                if (x instanceof IOException io && !(x instanceof org.apache.commons.vfs2.FileSystemException)
                        && io.getMessage() != null && io.getMessage().contains(dest.toString())) {
                    throw io; // a local write failure names the local file
                }
                throw remote(path, fo, x);
            }
            out.force(true);
        }
        String sha = HexFormat.of().formatHex(md.digest());
        if (n != expected.bytes() || !sha.equals(expected.sha256())) {
            throw new RestoreException(path + ": " + fo.getPublicURIString() + " read back as " + n + " bytes, sha256 "
                    + sha + "; its manifest says " + expected.bytes() + " bytes, sha256 " + expected.sha256()
                    + "; not restored", false, null);
        }
        return new Entry(expected.path(), false, n, sha, expected.modifiedMillis());
    }

    private static RestoreException remote(String path, FileObject fo, Throwable x) {
        Kind k = OffloadException.classify(x, Kind.READ);
        return new RestoreException(path + ": cannot read " + fo.getPublicURIString() + " (" + k.words() + "): "
                + ErrorLine.causes(x), false, x);
    }

    /** Moves the staged entries into {@code holder}; all of them or none. */
    private static void place(String path, Set<String> tops, Path stage, Path holder) throws IOException {
        Files.createDirectories(holder);
        List<Path> placed = new ArrayList<>();
        try {
            for (String top : tops) {
                Path from = stage.resolve(top);
                Path to = holder.resolve(top);
                if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
                    if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                        throw new FileAlreadyExistsException(to.toString());
                    }
                    Files.move(from, to);
                } else {
                    Files.createLink(to, from);
                }
                placed.add(to);
            }
        } catch (FileAlreadyExistsException e) {
            undo(placed, stage);
            throw new RestoreException(e.getFile() + " appeared meanwhile; not overwritten, " + path + " not restored",
                    false, e);
        } catch (IOException | RuntimeException e) {
            undo(placed, stage);
            throw e;
        }
        syncDirectory(holder);
    }

    /**
     * Takes back what a failed placement put into the run directory by renaming it into the staging
     * directory, which is discarded with everything in it: a restore never deletes in a run directory.
     */
    private static void undo(List<Path> placed, Path stage) {
        for (int i = 0; i < placed.size(); i++) {
            try {
                Files.move(placed.get(i), stage.resolve(".undo-" + i), StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException ignored) {
                // Reported by the caller's failure; what is left is whole, not half a file.
            }
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Some file systems cannot sync a directory; the files themselves were forced.
        }
    }

    /**
     * When the checkpoint was last seen becoming complete, by the agent's clock (its history), before it
     * was offloaded; its modification time where the history does not say.
     */
    private Instant completedBefore(Registered row) {
        Instant at = null;
        for (HistoryEvent h : registry.history(row.key())) {
            if (h.becameComplete() && (at == null || h.at().isAfter(at))) {
                at = h.at();
            }
        }
        return at != null ? at : row.modified();
    }

    /** Inspects the restored checkpoint where it is and registers it; the registry row as it is then. */
    private Registered register(Config config, RootConfig root, Path rootDir, Registered row) {
        Instant now = clock.instant();
        Path probe = row.members().isEmpty() ? row.path()
                : rootDir.resolve(row.run() == null ? "." : row.run()).resolve(row.members().get(0)).normalize();
        try {
            NameParser names;
            try {
                names = NameParser.withPatterns(root.patterns());
            } catch (IllegalArgumentException e) {
                names = NameParser.standard();
            }
            PathInspector.Result r = new PathInspector(root.layout(), names, config.agent().settleTime())
                    .inspect(probe, root.name(), rootDir, now);
            if (r.isCheckpoint()) {
                Registered found = Registered.merge(r.recognised(), null, now);
                if (found.isComplete()) {
                    // A restore is not a new save: the checkpoint keeps the completion time it had, so that
                    // "newest" (and resolve latest) still names the run's furthest save, not the one restored.
                    found = found.withHistory(row.firstSeen(), completedBefore(row));
                }
                registry.upsert(List.of(found));
            } else {
                log.warn("restored {} but it is not recognised as a checkpoint now ({}); the next scan decides", row.key(),
                        r.reason());
            }
        } catch (IOException | RuntimeException e) {
            log.warn("restored {} but could not register it now ({}); the next scan does", row.key(), e.getMessage());
        }
        return registry.byPath(row.key()).orElse(row);
    }
}
