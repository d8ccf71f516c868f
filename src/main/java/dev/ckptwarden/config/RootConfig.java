package dev.ckptwarden.config;

import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * One entry of {@code roots:}.
 *
 * @param name      how the root is named in output and metrics (the {@code name} key, else its path as written)
 * @param path      the path or URI as written in the configuration
 * @param retention null for a watch-only root (registry and metrics, never deletion)
 * @param quota     never null; fields null when unset
 * @param disk      never null; fields null when unset
 */
public record RootConfig(
        String name,
        String path,
        Layout layout,
        List<String> patterns,
        Retention retention,
        Quota quota,
        DiskWatermark disk,
        Action action,
        Offload offload,
        List<RetentionOverride> overrides) {

    public RootConfig {
        patterns = List.copyOf(patterns);
        overrides = List.copyOf(overrides);
        quota = quota == null ? Quota.NONE : quota;
        disk = disk == null ? DiskWatermark.NONE : disk;
        action = action == null ? Action.DELETE : action;
    }

    /** True when the path names a local directory (a plain path or a {@code file://} URI). */
    public boolean isLocal() {
        return !path.contains("://") || path.startsWith("file://");
    }

    /**
     * The absolute local directory of a local root as configured (normalized; symbolic links in it are not
     * resolved): where scans, watches, disk metrics and restores look.
     */
    public Path localPath() {
        Path local = path.startsWith("file://") ? Paths.get(URI.create(path)) : Paths.get(path);
        return local.toAbsolutePath().normalize();
    }

    /** A watch-only root with defaults, for tests and the embedded demo. */
    public static RootConfig watchOnly(String path) {
        return new RootConfig(path, path, Layout.AUTO, List.of(), null, Quota.NONE, DiskWatermark.NONE, Action.REPORT,
                null, List.of());
    }

    public RootConfig withRetention(Retention r, Action a) {
        return new RootConfig(name, path, layout, patterns, r, quota, disk, a, offload, overrides);
    }
}
