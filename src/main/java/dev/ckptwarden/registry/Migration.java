package dev.ckptwarden.registry;

import java.util.List;

/**
 * One step of the registry schema: applied in a single transaction to a database whose
 * {@code user_version} is {@code version - 1}, after which {@code user_version} is {@code version}.
 */
record Migration(int version, String description, List<String> statements) {

    Migration {
        if (version < 1) {
            throw new IllegalArgumentException("migration version must be positive: " + version);
        }
        statements = List.copyOf(statements);
    }
}
