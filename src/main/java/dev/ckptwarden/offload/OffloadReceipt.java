package dev.ckptwarden.offload;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A verified remote copy of a checkpoint, as recorded in the registry's history
 * ({@value #EVENT} event, detail {@code uri=<uri> sha256=<hex> bytes=<n> files=<k>}).
 *
 * @param uri    the checkpoint's remote URI (no credentials); its manifest is {@code uri + ".ckpt-warden.json"}
 * @param sha256 the checkpoint's checksum ({@link OffloadManifest} says how it is formed)
 * @param reused true when the target already held this very checkpoint (an earlier attempt that
 *               stopped after copying) and nothing was copied again
 */
public record OffloadReceipt(String uri, String sha256, long bytes, int files, boolean reused) {
    /** The history event recorded once the remote copy is verified, before the local copy is removed. */
    public static final String EVENT = "offload-verified";
    /** The history event recorded when an offload failed (detail: why); nothing local was touched. */
    public static final String FAILED_EVENT = "offload-failed";

    /** The history event's detail; URIs never contain spaces (they are percent-encoded). */
    public String detail() {
        return "uri=" + uri + " sha256=" + sha256 + " bytes=" + bytes + " files=" + files;
    }

    /** Reads a detail written by {@link #detail()}; null when it is not one. */
    public static OffloadReceipt parse(String detail) {
        if (detail == null) {
            return null;
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (String part : detail.strip().split(" +")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                kv.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        if (!kv.containsKey("uri") || !kv.containsKey("sha256")) {
            return null;
        }
        try {
            return new OffloadReceipt(kv.get("uri"), kv.get("sha256"), Long.parseLong(kv.getOrDefault("bytes", "0")),
                    Integer.parseInt(kv.getOrDefault("files", "0")), false);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
