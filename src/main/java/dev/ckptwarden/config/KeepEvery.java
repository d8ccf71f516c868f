package dev.ckptwarden.config;

/** {@code keep_every: {steps: N}} or {@code {epochs: N}}: milestones. Exactly one is set. */
public record KeepEvery(Long steps, Integer epochs) {
}
