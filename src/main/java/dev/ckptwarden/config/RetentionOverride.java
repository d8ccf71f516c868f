package dev.ckptwarden.config;

/** One {@code overrides:} entry: a glob on the run id and the retention fields it changes. */
public record RetentionOverride(String match, Retention retention) {
}
