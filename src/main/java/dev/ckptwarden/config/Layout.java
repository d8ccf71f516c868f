package dev.ckptwarden.config;

import java.util.Locale;

/** {@code roots[].layout}: which recogniser to use; {@code AUTO} tries them all. */
public enum Layout {
    AUTO, LIGHTNING, HUGGINGFACE, DEEPSPEED, ORBAX, DCP, NEMO, KERAS, FILES;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
