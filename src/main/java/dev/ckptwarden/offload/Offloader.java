package dev.ckptwarden.offload;

import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.config.Offload;
import dev.ckptwarden.offload.OffloadException.Kind;
import dev.ckptwarden.offload.OffloadManifest.Entry;
import dev.ckptwarden.offload.OffloadSource.UnsafeSourceException;
import dev.ckptwarden.remote.s3.S3FileObject;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.NameScope;
import org.apache.commons.vfs2.provider.UriParser;
import org.apache.commons.vfs2.util.FileObjectUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Copies a checkpoint to an offload target and proves the copy, streaming (one 1 MiB buffer per
 * transfer; S3 buffers one part), through {@link RemoteFiles}.
 *
 * <p>Where: {@code <target>/<root key>/<path relative to the root>}, the root key being the root's
 * name as a relative path ({@link #rootKey}); a manifest {@code <name>.ckpt-warden.json} beside it
 * ({@link OffloadManifest}) is written last, once every file is verified, and marks the copy complete.
 *
 * <p>How: the SHA-256 of each file is computed while it is read from the local disk and sent. On a
 * target that can rename (SFTP, local) everything is written under a hidden staging name
 * {@code .<name>.ckpt-warden-partial} and renamed into place after verification, so a reader never
 * sees half a checkpoint under its real name; on S3 (no rename) each object is written directly,
 * and each becomes visible only when its upload completes (multipart uploads are aborted on failure).
 * Verification, with {@code verify: sha256} (the default): each remote file's size, then its bytes read
 * back and hashed, compared with the hash of what was sent; with {@code verify: size}: sizes only.
 * Reading back is chosen over a server-declared checksum because SFTP has no standard one and it
 * proves what the remote stores, not what it claims.
 *
 * <p>Pace: with {@code max_bandwidth} every chunk sent, and every chunk read back to verify, first takes
 * its size from one {@link TokenBucket} per copy; up to {@code concurrency} files of a checkpoint are
 * sent (and then verified) at the same time, each through its own stream with its own buffer, so memory
 * stays bounded by {@code concurrency} transfers whatever the checkpoint's size.
 *
 * <p>Failure: any error removes what this attempt wrote (the staging tree, files already placed, the
 * manifest) before {@link OffloadException} is thrown; what could not be removed (an unreachable server)
 * is named in the message and is replaced by the next attempt, since a location without a manifest is
 * only ever an unfinished copy. A target that already holds a manifest for this path is reused when it
 * describes the same files (an earlier attempt that stopped after copying) and refused otherwise.
 *
 * <p>Why this class is long: the placing, the verification and the clean-up after a failure share the
 * staging names and the manifest rule above, and are read together when a copy is in doubt (one attempt
 * is already {@link OffloadAttempt}).
 */
public final class Offloader {
    private static final Logger log = LoggerFactory.getLogger(Offloader.class);
    public static final String MANIFEST_SUFFIX = ".ckpt-warden.json";
    static final String PARTIAL_SUFFIX = ".ckpt-warden-partial";
    private static final char[] RESERVED = {'#', '?'};
    static final int CHUNK = 1 << 20;

    private final RemoteFiles remote;
    private final OffloadListener listener;
    private final LongSupplier nanoTime;
    private final TokenBucket.Sleeper sleeper;

    public Offloader(RemoteFiles remote) {
        this(remote, OffloadListener.NONE);
    }

    public Offloader(RemoteFiles remote, OffloadListener listener) {
        this(remote, listener, System::nanoTime, TokenBucket.Sleeper.SYSTEM);
    }

    /**
     * @param nanoTime the clock that times copies and refills the bandwidth limit
     * @param sleeper  how a copy over its bandwidth limit waits
     */
    public Offloader(RemoteFiles remote, OffloadListener listener, LongSupplier nanoTime, TokenBucket.Sleeper sleeper) {
        this.remote = Objects.requireNonNull(remote, "remote");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    /**
     * The relative path a root's name maps to on a target: its '/'-separated names without empty or
     * {@code .} ones (so {@code /data/ckpt} becomes {@code data/ckpt}), {@code ..} written as {@code __},
     * a {@code file://} prefix dropped.
     */
    public static String rootKey(String rootName) {
        String s = rootName.strip();
        if (s.startsWith("file://")) {
            s = s.substring("file://".length());
        }
        s = s.replace("://", "/");
        List<String> out = new ArrayList<>();
        for (String seg : s.split("/")) {
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            out.add(seg.equals("..") ? "__" : seg);
        }
        return out.isEmpty() ? "_" : String.join("/", out);
    }

    /**
     * Copies and verifies one checkpoint.
     *
     * @param relativePath the checkpoint's path relative to its root, '/'-separated ({@code run/checkpoint-500})
     * @param source       its files; entry paths are relative to the directory holding the checkpoint
     * @throws OffloadException when no verified copy exists at the end (after removing what this attempt wrote)
     */
    public OffloadReceipt copy(Offload offload, String rootName, String relativePath, OffloadSource source)
            throws OffloadException {
        long started = nanoTime.getAsLong();
        listener.started(rootName);
        try {
            OffloadReceipt r = copyOnce(offload, rootName, relativePath, source);
            listener.verified(rootName, r.bytes(), Duration.ofNanos(nanoTime.getAsLong() - started));
            return r;
        } catch (OffloadException e) {
            listener.failed(rootName, e.kind(), Duration.ofNanos(nanoTime.getAsLong() - started));
            throw e;
        }
    }

    private OffloadReceipt copyOnce(Offload offload, String rootName, String relativePath, OffloadSource source)
            throws OffloadException {
        List<SourceEntry> entries;
        try {
            entries = source.entries();
        } catch (UnsafeSourceException u) {
            throw new OffloadException(Kind.UNSAFE, u.getMessage(), u);
        } catch (IOException e) {
            throw new OffloadException(Kind.LOCAL, "cannot list " + relativePath + ": " + ErrorLine.causes(e), e);
        }
        if (entries.isEmpty()) {
            throw new OffloadException(Kind.LOCAL, relativePath + " has no files to offload");
        }
        Location at = locate(offload.target(), rootName, relativePath);
        Set<String> tops = topNames(entries);
        boolean verifySha = !"size".equals(offload.verify());
        OffloadManifest existing;
        try {
            existing = at.manifest.exists() ? readManifest(at.manifest) : null;
        } catch (OffloadException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw remoteFailure(e, Kind.UNREACHABLE, "cannot reach " + at.parentUri());
        }
        TransferPool transfers = new TransferPool(offload.concurrency(), offload.maxBandwidth() == null ? null
                : new TokenBucket(offload.maxBandwidth(), CHUNK, nanoTime, sleeper), rootName);
        if (existing != null) {
            return reuse(at, existing, rootName, relativePath, entries, source, verifySha, transfers);
        }
        OffloadAttempt attempt = new OffloadAttempt(at, transfers);
        try {
            List<Entry> sent = attempt.send(entries, tops, source);
            attempt.verify(sent, verifySha);
            attempt.place(tops);
            OffloadManifest m = OffloadManifest.of(rootName, relativePath, kind(entries), sent);
            attempt.writeManifest(m);
            log.info("offloaded {} to {} ({} bytes, {} files, sha256 {})", relativePath, at.uri(), m.bytes(), m.files(),
                    m.sha256());
            return new OffloadReceipt(at.uri(), m.sha256(), m.bytes(), m.files(), false);
        } catch (OffloadException e) {
            throw attempt.cleanedUp(e);
        } catch (IOException | RuntimeException e) {
            throw attempt.cleanedUp(remoteFailure(e, Kind.WRITE, "cannot write to " + at.parentUri()));
        }
    }

    /**
     * Removes a remote copy made by {@link #copy} (the manifest first, so that a copy cut short here
     * counts as unfinished and is replaced by the next attempt).
     */
    public void discard(OffloadReceipt receipt) throws OffloadException {
        try {
            FileObject manifest = remote.resolve(receipt.uri() + MANIFEST_SUFFIX);
            OffloadManifest m = readManifest(manifest);
            FileObject parent = manifest.getParent();
            manifest.delete();
            for (String top : topNames(m.entries().stream()
                    .map(e -> new SourceEntry(e.path(), e.directory(), e.bytes(), 0)).toList())) {
                deleteTree(child(parent, top));
            }
        } catch (OffloadException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw remoteFailure(e, Kind.WRITE, "cannot remove the remote copy " + receipt.uri());
        }
    }

    /** Where a checkpoint goes: the directory holding it, its last name, and its manifest. */
    record Location(FileObject parent, String base, FileObject manifest) {
        String uri() throws FileSystemException {
            return child(parent, base).getPublicURIString();
        }

        String parentUri() {
            return parent.getPublicURIString();
        }
    }

    private Location locate(String target, String rootName, String relativePath) throws OffloadException {
        List<String> segs = new ArrayList<>(Arrays.asList(rootKey(rootName).split("/")));
        for (String s : relativePath.split("/")) {
            if (s.isEmpty() || s.equals(".") || s.equals("..")) {
                throw new OffloadException(Kind.USAGE, "unsafe checkpoint path '" + relativePath + "'");
            }
            segs.add(s);
        }
        String base = segs.remove(segs.size() - 1);
        try {
            FileObject parent = remote.resolve(target);
            for (String s : segs) {
                parent = parent.resolveFile(UriParser.encode(s, RESERVED), NameScope.CHILD);
            }
            return new Location(parent, base, child(parent, base + MANIFEST_SUFFIX));
        } catch (IOException | RuntimeException e) {
            // Resolving an sftp:// name opens its session: connection failures surface here.
            String m = ErrorLine.causes(e);
            Kind k = OffloadException.classify(e, m.contains("connect") ? Kind.UNREACHABLE : Kind.USAGE);
            throw new OffloadException(k, "offload target '" + target + "': " + m, e);
        }
    }

    /** The object at a '/'-separated path below {@code base}, one name at a time (no name can climb out). */
    static FileObject child(FileObject base, String relPath) throws FileSystemException {
        FileObject f = base;
        for (String s : relPath.split("/")) {
            if (s.isEmpty() || s.equals(".") || s.equals("..")) {
                throw new FileSystemException("unsafe path '" + relPath + "'");
            }
            f = f.resolveFile(UriParser.encode(s, RESERVED), NameScope.CHILD);
        }
        return f;
    }

    private static Set<String> topNames(List<SourceEntry> entries) {
        Set<String> tops = new LinkedHashSet<>();
        for (SourceEntry e : entries) {
            int slash = e.path().indexOf('/');
            tops.add(slash < 0 ? e.path() : e.path().substring(0, slash));
        }
        return tops;
    }

    private static String kind(List<SourceEntry> entries) {
        return entries.get(0).directory() ? "directory" : "file";
    }

    static OffloadException remoteFailure(Throwable e, Kind otherwise, String what) {
        Kind k = OffloadException.classify(e, otherwise);
        return new OffloadException(k, what + ": " + ErrorLine.causes(e), e);
    }

    static OffloadManifest readManifest(FileObject manifest) throws IOException {
        byte[] bytes;
        try (InputStream in = manifest.getContent().getInputStream()) {
            bytes = in.readNBytes(64 << 20);
        }
        try {
            return OffloadManifest.parse(bytes, manifest.getPublicURIString());
        } catch (IOException e) {
            throw new OffloadException(Kind.CONFLICT, e.getMessage(), e);
        }
    }

    /** A target that already holds a complete copy at this path: the same checkpoint is kept, anything else refused. */
    private OffloadReceipt reuse(Location at, OffloadManifest existing, String rootName, String relativePath,
                                 List<SourceEntry> entries, OffloadSource source, boolean verifySha, TransferPool transfers)
            throws OffloadException {
        List<Entry> local = new ArrayList<>();
        for (SourceEntry e : entries) {
            local.add(e.directory() ? new Entry(e.path(), true, 0, null, e.modifiedMillis()) : hashLocal(source, e));
        }
        OffloadManifest mine = OffloadManifest.of(rootName, relativePath, kind(entries), local);
        if (!mine.sameContent(existing)) {
            throw new OffloadException(Kind.CONFLICT, at.manifest.getPublicURIString() + " describes a different checkpoint"
                    + " (sha256 " + existing.sha256() + ", local " + mine.sha256() + "); not overwritten");
        }
        try {
            transfers.run(local.stream().filter(e -> !e.directory()).toList(), e -> {
                verifyOne(child(at.parent, e.path()), e, verifySha, transfers.bucket());
                return e;
            });
            writeSmall(at.manifest, mine.toBytes());
            log.info("offload of {}: {} already held this checkpoint; reused", relativePath, at.uri());
            return new OffloadReceipt(at.uri(), mine.sha256(), mine.bytes(), mine.files(), true);
        } catch (OffloadException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw remoteFailure(e, Kind.READ, "cannot check the existing copy at " + at.parentUri());
        }
    }

    private static Entry hashLocal(OffloadSource source, SourceEntry e) throws OffloadException {
        MessageDigest md = OffloadManifest.newDigest();
        byte[] buf = new byte[CHUNK];
        long n = 0;
        try (InputStream in = source.open(e.path())) {
            for (int r; (r = in.read(buf)) >= 0; ) {
                md.update(buf, 0, r);
                n += r;
            }
        } catch (IOException x) {
            throw new OffloadException(Kind.LOCAL, "cannot read " + e.path() + ": " + ErrorLine.causes(x), x);
        }
        if (n != e.bytes()) {
            throw new OffloadException(Kind.LOCAL_CHANGED, e.path() + " is " + n + " bytes now, " + e.bytes()
                    + " when listed");
        }
        return new Entry(e.path(), false, n, HexFormat.of().formatHex(md.digest()), e.modifiedMillis());
    }

    /** Size, then (for sha256) the bytes read back and hashed, at most as fast as {@code bucket} allows (null: no limit). */
    static void verifyOne(FileObject fo, Entry expected, boolean sha, TokenBucket bucket) throws IOException {
        fo.refresh();
        if (fo.getType() != FileType.FILE) {
            throw new OffloadException(Kind.VERIFICATION, fo.getPublicURIString() + " is missing after the copy");
        }
        long size = fo.getContent().getSize();
        if (size != expected.bytes()) {
            throw new OffloadException(Kind.VERIFICATION, fo.getPublicURIString() + " holds " + size + " bytes, "
                    + expected.bytes() + " were sent");
        }
        if (!sha) {
            return;
        }
        String got = hashRemote(fo, bucket);
        if (!got.equals(expected.sha256())) {
            throw new OffloadException(Kind.VERIFICATION, fo.getPublicURIString() + ": sha256 of the stored bytes is "
                    + got + ", of the bytes sent " + expected.sha256());
        }
    }

    static String hashRemote(FileObject fo, TokenBucket bucket) throws OffloadException {
        MessageDigest md = OffloadManifest.newDigest();
        byte[] buf = new byte[CHUNK];
        try (InputStream in = fo.getContent().getInputStream()) {
            for (int r; (r = in.read(buf)) >= 0; ) {
                if (bucket != null) {
                    bucket.take(r);
                }
                md.update(buf, 0, r);
            }
        } catch (IOException | RuntimeException e) {
            throw remoteFailure(e, Kind.READ, "cannot read back " + fo.getPublicURIString());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Writes a small file and checks it reads back byte for byte. */
    static void writeSmall(FileObject fo, byte[] bytes) throws IOException {
        try (OutputStream out = fo.getContent().getOutputStream()) {
            out.write(bytes);
        }
        fo.refresh();
        byte[] back;
        try (InputStream in = fo.getContent().getInputStream()) {
            back = in.readNBytes(bytes.length + 1);
        }
        if (!Arrays.equals(bytes, back)) {
            throw new OffloadException(Kind.VERIFICATION, fo.getPublicURIString() + " does not read back as written");
        }
    }

    /** Gives up a transfer whose source failed: an S3 upload is aborted so that closing publishes nothing. */
    static String abandon(FileObject fo, OutputStream out) {
        String problem = null;
        try {
            if (FileObjectUtils.getAbstractFileObject(fo) instanceof S3FileObject s3) {
                problem = s3.abortUpload();
            }
        } catch (FileSystemException | RuntimeException e) {
            problem = ErrorLine.causes(e);
        }
        try {
            out.close();
        } catch (IOException | RuntimeException ignored) {
            // The transfer failed already; what is left is removed with the staging tree.
        }
        return problem;
    }

    /**
     * Deletes a file, or a folder and everything in it, children first, each object looked up afresh
     * (VFS's own {@code deleteAll} keeps a folder whose cached child list went stale, which objects
     * that are not cached always have). Absent is fine.
     */
    static void deleteTree(FileObject f) throws FileSystemException {
        FileObject fresh = f.getFileSystem().resolveFile(f.getName());
        FileType type = fresh.getType();
        if (type == FileType.IMAGINARY) {
            return;
        }
        if (type.hasChildren()) {
            for (FileObject c : fresh.getChildren()) {
                deleteTree(c);
            }
        }
        f.getFileSystem().resolveFile(f.getName()).delete();
    }

    /** Reads a whole small remote file (manifests). */
    static byte[] readAll(FileObject fo) throws IOException {
        try (InputStream in = fo.getContent().getInputStream(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            in.transferTo(out);
            return out.toByteArray();
        }
    }
}
