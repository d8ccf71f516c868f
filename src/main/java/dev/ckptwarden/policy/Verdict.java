package dev.ckptwarden.policy;

import java.util.Locale;

/** What retention decides for one checkpoint; {@link #id()} is the word plan output and JSON use. */
public enum Verdict {
    KEEP, EVICT;

    /** {@code "keep"} or {@code "evict"}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Verdict fromId(String id) {
        return valueOf(id.toUpperCase(Locale.ROOT));
    }
}
