package dev.ckptwarden.registry;

/** The registry contract on a real PostgreSQL server (skipped where none can be started). */
class PostgresRegistryContractTest extends RegistryContractTest {

    @Override
    protected Registry openRegistry(SettableClock clock) {
        PostgresServer server = PostgresServer.shared();
        return PostgresRegistry.open(server.freshDatabase(), server.env(), clock);
    }

    @Override
    protected String location() {
        return ((PostgresRegistry) registry).location();
    }
}
