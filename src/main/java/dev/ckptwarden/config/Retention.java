package dev.ckptwarden.config;

import java.time.Duration;

/**
 * A {@code retention:} block. Every rule is optional (null when unset); a checkpoint is kept when
 * ANY configured rule keeps it.
 */
public record Retention(Integer keepLast, KeepBest keepBest, KeepEvery keepEvery, Duration keepWithin) {

    public static final Retention NONE = new Retention(null, null, null, null);

    /** Field-wise overlay: the override's set fields win, the rest come from this block. */
    public Retention overlay(Retention override) {
        if (override == null) {
            return this;
        }
        return new Retention(
                override.keepLast != null ? override.keepLast : keepLast,
                override.keepBest != null ? override.keepBest : keepBest,
                override.keepEvery != null ? override.keepEvery : keepEvery,
                override.keepWithin != null ? override.keepWithin : keepWithin);
    }
}
