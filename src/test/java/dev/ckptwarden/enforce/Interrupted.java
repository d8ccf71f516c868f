package dev.ckptwarden.enforce;

import dev.ckptwarden.config.Action;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.time.Instant;

/**
 * The trash exactly as an agent killed in the middle of an eviction leaves it: the signed manifest, and
 * the first {@code moved} members renamed in as {@code <id>.<i>}.
 */
final class Interrupted {
    private Interrupted() {
    }

    static TrashManifest eviction(Site site, Registered c, String action, int moved) throws IOException {
        Path root = site.root;
        Path trash = root.resolve(TrashBin.DIR_NAME);
        Instant now = site.clock.instant();
        CheckpointEntries where = CheckpointEntries.of(c.facts(), root);
        TrashManifest m;
        try (RootDirectory dir = RootDirectory.open(root);
             SecureDirectoryStream<Path> parent = dir.openDirectory(where.parent())) {
            CheckpointEntries.Observed seen = where.observe(parent);
            m = new TrashManifest(new EvictionIds().next(now), site.rootConfig.name(), c.run(), c.key(),
                    where.parent().toString(), seen.entries(), seen.bytes(), EvictionCause.POLICY,
                    Action.valueOf(action.toUpperCase(java.util.Locale.ROOT)), now);
        }
        Files.createDirectories(trash);
        Files.setAttribute(trash, "unix:mode", 0700);
        Files.write(trash.resolve(m.id() + TrashBin.MANIFEST_SUFFIX), m.toBytes(ManifestKey.open(site.state)));
        for (int i = 0; i < moved; i++) {
            Files.move(root.resolve(where.parent()).resolve(m.members().get(i).name()), trash.resolve(m.id() + "." + i));
        }
        return m;
    }
}
