package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileType;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Polls a remote root ({@code sftp://}, {@code s3://}): no watch events exist there, so every reconcile
 * lists it through Commons VFS and hands what the catalog recognised to the same settling and
 * registry code as a local root. Connection and credentials come from {@link RemoteSettings} (keys,
 * known_hosts, the AWS chain; never a password in the configuration). One connection per pass,
 * closed when the pass is done.
 */
final class RemoteReconciler {

    private final Supplier<RemoteSettings> settings;

    RemoteReconciler(Supplier<RemoteSettings> settings) {
        this.settings = settings;
    }

    /** The path form under which a remote root's checkpoints are registered ({@link RemoteLocation}). */
    static Path rootPath(String uri) {
        return RemoteLocation.path(uri);
    }

    /**
     * Walks the root and passes the walk to {@code settle} while the connection is still open (settling
     * reads headers of new checkpoints). An unreachable root (host down, wrong credentials, unknown host
     * key) is reported as one problem and settled as unreachable, which marks nothing gone.
     */
    RootScan reconcile(RootConfig root, Cataloger cataloger, List<ScanProblem> problems, Function<RootWalk, RootScan> settle) {
        Path rootPath = rootPath(root.path());
        String scheme = URI.create(root.path().strip()).getScheme().toLowerCase(Locale.ROOT);
        RemoteFiles files;
        try {
            files = RemoteFiles.open(settings.get());
        } catch (IOException e) {
            return unreachable(root, rootPath, "cannot set up remote access: " + ErrorLine.causes(e), problems, settle);
        }
        try (files) {
            FileObject top;
            FileType type;
            try {
                top = files.resolve(root.path());
                type = top.getType(); // the first remote operation: connects and authenticates
            } catch (IOException | RuntimeException e) {
                return unreachable(root, rootPath, "not reachable: " + ErrorLine.causes(e), problems, settle);
            }
            boolean s3 = scheme.equals("s3");
            if (type == FileType.FILE || type == FileType.IMAGINARY && !s3) {
                return unreachable(root, rootPath, type == FileType.FILE ? "not a directory" : "does not exist", problems, settle);
            }
            VfsFileSource source = new VfsFileSource(rootPath, top);
            if (type == FileType.IMAGINARY) {
                // An S3 prefix with nothing under it: an empty root (folders are only key prefixes there).
                return settle.apply(new RootWalk(rootPath, true, List.of(), Set.of(), Set.of(), 0, source));
            }
            RemoteTreeReader reader = new RemoteTreeReader(source, !s3,
                    (p, m) -> problems.add(new ScanProblem(root.name(), p, m)));
            Exception[] atRoot = new Exception[1];
            List<dev.ckptwarden.catalog.Candidate> candidates = new ArrayList<>();
            TreeWalk.Walked w = TreeWalk.walk(rootPath, reader, reader::forget, cataloger, (dir, e) -> {
                if (dir.equals(rootPath)) {
                    atRoot[0] = e; // the root itself: the whole root is unreachable, said once below
                } else {
                    problems.add(new ScanProblem(root.name(), dir, ErrorLine.causes(e)));
                }
            }, (dir, found) -> candidates.addAll(found.candidates()));
            if (atRoot[0] != null) {
                return unreachable(root, rootPath, "cannot list: " + ErrorLine.causes(atRoot[0]), problems, settle);
            }
            return settle.apply(new RootWalk(rootPath, true, candidates, w.unscanned(), Set.of(), reader.entriesRead(),
                    source));
        }
    }

    private static RootScan unreachable(RootConfig root, Path rootPath, String why, List<ScanProblem> problems,
                                        Function<RootWalk, RootScan> settle) {
        problems.add(new ScanProblem(root.name(), rootPath, why)); // logged by the reconciler, once per episode
        return settle.apply(RootWalk.unreachable(rootPath));
    }
}
