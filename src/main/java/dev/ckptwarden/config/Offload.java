package dev.ckptwarden.config;

/** {@code offload: {target, verify}}: where evicted checkpoints are copied before local deletion. */
public record Offload(String target, String verify) {
}
