package dev.ckptwarden.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Where a root's path points, normalised so that two roots can be checked for nesting: a local
 * path (relative ones against the working directory, {@code file://} URIs included) or a remote
 * URI's scheme and authority plus its path segments.
 *
 * @param space    "local", or {@code scheme://authority} for a remote root
 * @param segments the normalised path, one name per element
 */
record RootLocation(String space, List<String> segments) {

    private static final Set<String> REMOTE_SCHEMES = Set.of("sftp", "s3");

    RootLocation {
        segments = List.copyOf(segments);
    }

    /** @throws IllegalArgumentException with a one-line message quoting the text */
    static RootLocation parse(String written) {
        String text = written.strip();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("must not be empty");
        }
        if (text.startsWith("~")) {
            throw new IllegalArgumentException("'~' is not expanded, write the full path instead of '" + written + "'");
        }
        if (!text.contains("://")) {
            return local(text, written);
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URI: '" + written + "' (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("file")) {
            String authority = uri.getAuthority();
            if (authority != null && !authority.isEmpty() && !authority.equalsIgnoreCase("localhost")) {
                throw new IllegalArgumentException("a file:// URI cannot name a host ('" + authority
                        + "'); for a local path write file:///" + authority + (uri.getPath() == null ? "" : uri.getPath()));
            }
            return local(uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath(), written);
        }
        if (!REMOTE_SCHEMES.contains(scheme)) {
            throw new IllegalArgumentException("unsupported scheme '" + uri.getScheme() + "' in '" + written
                    + "' (use a local path, file://, sftp:// or s3://)");
        }
        refusePassword(uri, written);
        if (uri.getAuthority() == null || uri.getAuthority().isEmpty()) {
            throw new IllegalArgumentException("'" + written + "' names no host"
                    + (scheme.equals("s3") ? " (bucket), like s3://bucket/prefix" : ", like sftp://host/dir"));
        }
        return new RootLocation(scheme + "://" + uri.getAuthority().toLowerCase(Locale.ROOT),
                normalise(uri.getPath() == null ? "" : uri.getPath()));
    }

    private static RootLocation local(String text, String written) {
        try {
            return local(Path.of(text).toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid path: '" + written + "' (" + e.getReason() + ")");
        }
    }

    /** An absolute, normalised local path. */
    static RootLocation local(Path absolute) {
        List<String> names = new ArrayList<>();
        absolute.forEach(name -> names.add(name.toString()));
        return new RootLocation("local", names);
    }

    /**
     * Credentials never come from the configuration: a URI with {@code user:password@} is refused where
     * it is written (the agent refuses it too, when it connects).
     */
    static void refusePassword(URI uri, String written) {
        String info = uri.getRawUserInfo();
        if (info != null && info.contains(":")) {
            String redacted = written.strip().replace(info, info.substring(0, info.indexOf(':')) + ":***");
            throw new IllegalArgumentException("'" + redacted + "' carries a password; passwords are not accepted in "
                    + "URIs: use a key for sftp://, the AWS credential chain for s3://");
        }
    }

    boolean isLocal() {
        return space.equals("local");
    }

    /** The top of a file system ({@code /}, {@code sftp://host/}): never a root. An S3 bucket may be one. */
    boolean isTop() {
        return segments.isEmpty() && !space.startsWith("s3://");
    }

    /**
     * Where a local location really is, symbolic links resolved: the real path of its nearest existing
     * ancestor with the rest appended (a root or state_dir may not exist yet). A remote one as it is.
     */
    RootLocation real() {
        if (!isLocal()) {
            return this;
        }
        Path p = Path.of("/", segments.toArray(new String[0]));
        for (Path existing = p; existing != null; existing = existing.getParent()) {
            try {
                return local(existing.toRealPath().resolve(existing.relativize(p)).normalize());
            } catch (java.io.IOException | SecurityException absentOrUnreadable) {
                // look one level up
            }
        }
        return this;
    }

    /** How the location reads in a message: {@code /data/ckpt}, {@code sftp://host/dir}. */
    String text() {
        return (isLocal() ? "" : space) + "/" + String.join("/", segments);
    }

    private static List<String> normalise(String path) {
        List<String> out = new ArrayList<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
            } else {
                out.add(part);
            }
        }
        return out;
    }

    /** True when {@code other} is this location or lies below it. */
    boolean contains(RootLocation other) {
        return space.equals(other.space)
                && other.segments.size() >= segments.size()
                && other.segments.subList(0, segments.size()).equals(segments);
    }
}
