package dev.ckptwarden.catalog;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How checkpoints of a remote root ({@code sftp://}, {@code s3://}) are named. They are registered under a
 * path form of their URI with the scheme's {@code //} folded ({@code sftp:/user@host:22/data/run/checkpoint-5}),
 * so that they compose, compare and store like local paths and can never be taken for a local absolute
 * path; users see the URI again ({@link #text}).
 */
public final class RemoteLocation {
    private RemoteLocation() {
    }

    /** The path form of a remote URI (its path decoded, normalised). */
    public static Path path(String uri) {
        URI u = URI.create(uri.strip());
        String p = u.getPath() == null ? "" : u.getPath();
        return Path.of(u.getScheme().toLowerCase(Locale.ROOT) + ":/" + u.getRawAuthority() + "/" + p).normalize();
    }

    /** True for the path form of a remote location. */
    public static boolean isRemote(Path path) {
        if (path.isAbsolute() || path.getNameCount() < 2) {
            return false;
        }
        String first = path.getName(0).toString();
        return first.equals("sftp:") || first.equals("s3:");
    }

    /** What a user sees: the path of a local checkpoint, the URI of a remote one. */
    public static String text(Path path) {
        if (path == null) {
            return null;
        }
        String s = path.toString();
        return isRemote(path) ? s.replaceFirst(":/", "://") : s;
    }
}
