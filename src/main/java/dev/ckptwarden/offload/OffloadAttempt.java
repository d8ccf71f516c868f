package dev.ckptwarden.offload;

import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.offload.OffloadException.Kind;
import dev.ckptwarden.offload.OffloadManifest.Entry;
import org.apache.commons.vfs2.Capability;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/** One copy attempt of {@link Offloader}: what it wrote, so that a failure can remove exactly that. */
final class OffloadAttempt {
    private final Offloader.Location at;
    private final boolean staged;
    private final FileObject dest;
    private final TransferPool transfers;
    private final List<FileObject> written = new ArrayList<>();
    private final List<FileObject> placed = new ArrayList<>();
    private FileObject manifestPartial;
    private boolean manifestWritten;
    private final List<String> notes = Collections.synchronizedList(new ArrayList<>());

    OffloadAttempt(Offloader.Location at, TransferPool transfers) throws OffloadException {
        this.at = at;
        this.transfers = transfers;
        try {
            this.staged = at.parent().getFileSystem().hasCapability(Capability.RENAME);
            this.dest = staged ? Offloader.child(at.parent(), "." + at.base() + Offloader.PARTIAL_SUFFIX) : at.parent();
        } catch (FileSystemException e) {
            throw new OffloadException(Kind.USAGE, ErrorLine.causes(e), e);
        }
    }

    List<Entry> send(List<SourceEntry> entries, Set<String> tops, OffloadSource source) throws IOException {
        if (staged) {
            Offloader.deleteTree(dest); // an earlier attempt's leftovers, if any
            dest.createFolder();
        } else {
            for (String top : tops) {
                Offloader.deleteTree(Offloader.child(at.parent(), top)); // no manifest: an unfinished earlier copy, if any
            }
        }
        // Folders first, in order (each before what it holds), so that concurrent files never race to create one.
        List<SourceEntry> files = new ArrayList<>();
        for (SourceEntry e : entries) {
            FileObject fo = Offloader.child(dest, e.path());
            if (e.directory()) {
                fo.createFolder();
            } else {
                written.add(fo);
                files.add(e);
            }
        }
        List<Entry> uploaded = transfers.run(files, e -> upload(source, e, Offloader.child(dest, e.path())));
        List<Entry> sent = new ArrayList<>();
        int next = 0;
        for (SourceEntry e : entries) {
            sent.add(e.directory() ? new Entry(e.path(), true, 0, null, e.modifiedMillis()) : uploaded.get(next++));
        }
        return sent;
    }

    private Entry upload(OffloadSource source, SourceEntry e, FileObject fo) throws IOException {
        MessageDigest md = OffloadManifest.newDigest();
        byte[] buf = new byte[Offloader.CHUNK];
        long n = 0;
        InputStream in;
        try {
            in = source.open(e.path());
        } catch (IOException x) {
            throw new OffloadException(Kind.LOCAL, "cannot open " + e.path() + ": " + ErrorLine.causes(x), x);
        }
        try (in) {
            fo.getParent().createFolder();
            OutputStream out = fo.getContent().getOutputStream();
            boolean sentAll = false;
            try {
                while (true) {
                    int r;
                    try {
                        r = in.read(buf);
                    } catch (IOException x) {
                        throw new OffloadException(Kind.LOCAL, "cannot read " + e.path() + ": "
                                + ErrorLine.causes(x), x);
                    }
                    if (r < 0) {
                        break;
                    }
                    transfers.checkNotStopped();
                    if (transfers.bucket() != null) {
                        transfers.bucket().take(r);
                    }
                    md.update(buf, 0, r);
                    out.write(buf, 0, r);
                    n += r;
                }
                sentAll = true;
            } finally {
                if (!sentAll) {
                    String p = Offloader.abandon(fo, out);
                    if (p != null) {
                        notes.add(p);
                    }
                }
            }
            out.close();
        }
        if (n != e.bytes()) {
            throw new OffloadException(Kind.LOCAL_CHANGED, e.path() + " is " + n + " bytes now, " + e.bytes()
                    + " when listed");
        }
        return new Entry(e.path(), false, n, HexFormat.of().formatHex(md.digest()), e.modifiedMillis());
    }

    void verify(List<Entry> sent, boolean sha) throws IOException {
        transfers.run(sent.stream().filter(e -> !e.directory()).toList(), e -> {
            Offloader.verifyOne(Offloader.child(dest, e.path()), e, sha, transfers.bucket());
            return e;
        });
    }

    /** Staged copies: rename each top-level entry from the staging tree into place. */
    void place(Set<String> tops) throws IOException {
        if (!staged) {
            return;
        }
        for (String top : tops) {
            FileObject from = Offloader.child(dest, top);
            Offloader.deleteTree(Offloader.child(at.parent(), top)); // no manifest: an unfinished earlier copy, if any
            FileObject to = Offloader.child(at.parent(), top);
            from.moveTo(to);
            placed.add(to);
        }
        Offloader.deleteTree(dest);
    }

    void writeManifest(OffloadManifest m) throws IOException {
        byte[] bytes = m.toBytes();
        if (staged) {
            manifestPartial = Offloader.child(at.parent(), "." + at.base() + Offloader.MANIFEST_SUFFIX + Offloader.PARTIAL_SUFFIX);
            Offloader.writeSmall(manifestPartial, bytes);
            manifestWritten = true;
            manifestPartial.moveTo(at.manifest());
        } else {
            manifestWritten = true;
            Offloader.writeSmall(at.manifest(), bytes);
        }
    }

    /** Removes what this attempt wrote; returns {@code e} with what could not be removed appended. */
    OffloadException cleanedUp(OffloadException e) {
        List<String> left = new ArrayList<>(notes);
        if (manifestWritten) {
            remove(at.manifest(), left);
            if (manifestPartial != null) {
                remove(manifestPartial, left);
            }
        }
        if (staged) {
            remove(dest, left);
            placed.forEach(p -> remove(p, left));
        } else {
            written.forEach(w -> remove(w, left));
        }
        if (left.isEmpty()) {
            return e;
        }
        return new OffloadException(e.kind(), e.getMessage() + "; not cleaned up on the target: "
                + String.join(", ", left) + " (the next attempt replaces what is there)", e.getCause());
    }

    private static void remove(FileObject f, List<String> left) {
        try {
            Offloader.deleteTree(f);
        } catch (IOException | RuntimeException x) {
            left.add(f.getPublicURIString() + " (" + ErrorLine.causes(x) + ")");
        }
    }
}
