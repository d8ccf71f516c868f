package dev.ckptwarden.config;

/** {@code quota:} byte limits for a whole root and for each run; null when unset. */
public record Quota(Long maxBytes, Long runMaxBytes) {
    public static final Quota NONE = new Quota(null, null);
}
