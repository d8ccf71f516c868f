package dev.ckptwarden.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Reads a root's {@code offload:} block: where evicted checkpoints are copied, how they are verified and how fast. */
final class OffloadSectionReader {

    private static final List<String> VERIFY = List.of("sha256", "size");
    private static final List<String> OFFLOAD_SCHEMES = List.of("sftp", "s3", "file");

    private OffloadSectionReader() {
    }

    /** The root's offload target, null when it has none or when {@code errors} received something. */
    static Offload read(MappingReader r, ConfigErrors errors) {
        if (!r.has("offload")) {
            return null;
        }
        MappingReader o = r.block("offload", "set target (and optionally verify), or remove offload:",
                "a mapping like {target: \"sftp://archive/ckpt\", verify: sha256}", "target", "verify", "max_bandwidth",
                "concurrency");
        if (o == null) {
            return null;
        }
        String target = o.text("target", "a URI like sftp://archive/ckpt");
        if (!o.has("target")) {
            o.missing("target", " (where offloaded checkpoints are copied, like sftp://archive/ckpt)");
        } else if (target != null) {
            try {
                target = offloadTarget(target);
            } catch (IllegalArgumentException e) {
                o.error("target", e.getMessage());
                target = null;
            }
        }
        String verify = o.text("verify", "sha256 or size");
        if (verify != null) {
            String v = verify.strip().toLowerCase(Locale.ROOT);
            if (!VERIFY.contains(v)) {
                Optional<String> near = KeySuggestion.nearest(v, VERIFY);
                o.error("verify", "expected one of sha256, size; got '" + verify + "'"
                        + near.map(n -> " (did you mean " + n + "?)").orElse(""));
                verify = null;
            } else {
                verify = v;
            }
        }
        Long bandwidth = bandwidth(o);
        Integer concurrency = o.wholeInt("concurrency", 1);
        if (concurrency != null && concurrency > Offload.MAX_CONCURRENCY) {
            o.error("concurrency", "must be at most " + Offload.MAX_CONCURRENCY + " (files sent at the same time), got "
                    + concurrency);
            concurrency = null;
        }
        // A wrong max_bandwidth or concurrency was recorded as an error: the root is not built at all.
        return target == null ? null : new Offload(target, verify == null ? "sha256" : verify, bandwidth,
                concurrency == null ? Offload.DEFAULT_CONCURRENCY : concurrency);
    }

    /** {@code max_bandwidth: 200MiB/s} (the {@code /s} may be left out): bytes per second, more than 0. */
    private static Long bandwidth(MappingReader o) {
        String text = o.text("max_bandwidth", "a rate like 200MiB/s");
        if (text == null) {
            return null;
        }
        String t = text.strip();
        if (t.endsWith("/s")) {
            t = t.substring(0, t.length() - 2).strip();
        }
        try {
            long bytes = ByteSize.parse(t);
            if (bytes <= 0) {
                throw new IllegalArgumentException("must be more than 0 bytes per second, got '" + text + "'");
            }
            return bytes;
        } catch (IllegalArgumentException e) {
            o.error("max_bandwidth", e.getMessage().replace("a size like 500GiB", "a rate like 200MiB/s"));
            return null;
        }
    }

    private static String offloadTarget(String text) {
        String t = text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("must not be empty");
        }
        if (t.contains("://")) {
            try {
                URI uri = new URI(t);
                if (uri.getScheme() == null) {
                    throw new IllegalArgumentException("expected a URI like sftp://archive/ckpt, got '" + text + "'");
                }
                RootLocation.refusePassword(uri, text);
                // What the offloader can reach (RemoteFiles): another scheme would fail only at the first eviction.
                if (!OFFLOAD_SCHEMES.contains(uri.getScheme().toLowerCase(Locale.ROOT))) {
                    throw new IllegalArgumentException("unsupported scheme '" + uri.getScheme() + "' in '" + text
                            + "' (use sftp://, s3://, file:// or an absolute path)");
                }
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a valid URI: '" + text + "' (" + e.getReason() + ")");
            }
            return t;
        }
        if (!t.startsWith("/")) {
            throw new IllegalArgumentException("expected a URI like sftp://archive/ckpt or an absolute path, got '"
                    + text + "'");
        }
        return t;
    }
}
