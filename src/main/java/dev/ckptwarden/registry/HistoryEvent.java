package dev.ckptwarden.registry;

import java.time.Instant;

/** One line of a checkpoint's history: what happened, when, and why. */
public record HistoryEvent(String path, Instant at, String event, String detail) {
}
