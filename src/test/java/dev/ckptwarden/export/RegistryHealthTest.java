package dev.ckptwarden.export;

import dev.ckptwarden.registry.RegistryException;
import dev.ckptwarden.testing.MutableClock;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** Which registry errors are an outage (the database cannot be reached) and which are failures of their own. */
class RegistryHealthTest {
    private static final String DB = "postgresql://db:5432/ckpt";

    @Test
    void aConnectionFailureStartsAnOutageButABadRowDoesNot() {
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        int[] outages = {0};
        RegistryHealth health = new RegistryHealth(clock, () -> outages[0]++);

        assertThat(health.failed(new RegistryException(DB, "present(main) failed: row x cannot be read",
                new SQLException("row x cannot be read")))).isFalse();
        assertThat(health.up()).as("a bad row is not an outage").isTrue();

        assertThat(health.failed(new RegistryException(DB, "present(main) failed: cannot connect",
                new SQLException("Connection to db:5432 refused", "08001")))).isTrue();
        assertThat(health.failed(new RegistryException(DB, "upsert failed: terminating connection due to administrator command",
                new SQLException("terminating connection due to administrator command", "57P01")))).isTrue();
        assertThat(health.up()).isFalse();
        assertThat(health.problem()).startsWith(DB);
        assertThat(outages[0]).as("one outage, however many failures").isEqualTo(1);
    }
}
