package dev.ckptwarden.catalog;

import java.util.Locale;

/** The training framework (or file format) that wrote a checkpoint, as named in the contract. */
public enum Framework {
    LIGHTNING, HUGGINGFACE, DEEPSPEED, ORBAX, DCP, NEMO, COMPOSER, KERAS, TENSORFLOW, TORCH, SAFETENSORS, UNKNOWN;

    /** The lower-case identifier used in JSON, tables and configuration. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Framework fromId(String id) {
        return valueOf(id.toUpperCase(Locale.ROOT));
    }
}
