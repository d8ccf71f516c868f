package dev.ckptwarden.config;

import java.util.Locale;

/** {@code roots[].action}: what happens to a checkpoint that policy evicts. */
public enum Action {
    DELETE, OFFLOAD, REPORT;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
