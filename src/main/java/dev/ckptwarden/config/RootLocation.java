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
        if (uri.getAuthority() == null || uri.getAuthority().isEmpty()) {
            throw new IllegalArgumentException("'" + written + "' names no host"
                    + (scheme.equals("s3") ? " (bucket), like s3://bucket/prefix" : ", like sftp://host/dir"));
        }
        return new RootLocation(scheme + "://" + uri.getAuthority().toLowerCase(Locale.ROOT),
                normalise(uri.getPath() == null ? "" : uri.getPath()));
    }

    private static RootLocation local(String text, String written) {
        try {
            Path p = Path.of(text).toAbsolutePath().normalize();
            List<String> names = new ArrayList<>();
            p.forEach(name -> names.add(name.toString()));
            return new RootLocation("local", names);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid path: '" + written + "' (" + e.getReason() + ")");
        }
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
