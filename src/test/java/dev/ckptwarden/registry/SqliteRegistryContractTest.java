package dev.ckptwarden.registry;

import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The registry contract on the embedded SQLite database. */
class SqliteRegistryContractTest extends RegistryContractTest {

    @TempDir
    Path stateDir;

    @Override
    protected Registry openRegistry(SettableClock clock) {
        return SqliteRegistry.open(stateDir, clock);
    }

    @Override
    protected String location() {
        return ((SqliteRegistry) registry).database().toString();
    }
}
