package dev.ckptwarden.registry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Two agents' leases on one real database. Time passing is the database's: a lease "expires" in these
 * tests by moving its expiry into the past, as an agent that stopped renewing would leave it.
 */
class LeaseTest {

    private static final Duration TTL = Duration.ofMinutes(10);

    private final PostgresServer server = PostgresServer.shared();
    private String url;
    private PostgresRegistry agentA;
    private PostgresRegistry agentB;

    @BeforeEach
    void open() {
        url = server.freshDatabase();
        agentA = PostgresRegistry.open(url, server.env(), Clock.systemUTC());
        agentB = PostgresRegistry.open(url, server.env(), Clock.systemUTC());
    }

    @AfterEach
    void close() {
        agentA.close();
        agentB.close();
    }

    /** What the database holds after the holder stopped renewing for longer than the lease time. */
    private void expire(String name) {
        server.execute(url, "UPDATE leases SET expires_at = now() - INTERVAL '1 second' WHERE name = '" + name + "'");
    }

    @Test
    void oneHoldsAndTheOtherCannotTakeItUntilItExpires() {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        Lease b = agentB.lease(Lease.ENFORCEMENT, "host-b:202:t0", TTL);

        assertThat(a.acquire()).isTrue();
        assertThat(b.acquire()).isFalse();
        assertThat(a.acquire()).as("renewal by the holder").isTrue();
        assertThat(b.acquire()).isFalse();
        assertThat(a.token()).isEqualTo(1);
        assertThat(b.token()).isEqualTo(-1);
        assertThat(b.current()).hasValueSatisfying(h -> {
            assertThat(h.holder()).isEqualTo("host-a:101:t0");
            assertThat(h.expired()).isFalse();
        });

        expire(Lease.ENFORCEMENT);

        assertThat(b.acquire()).isTrue();
        assertThat(b.token()).as("a takeover increments the fencing token").isEqualTo(2);
        assertThat(a.acquire()).isFalse();
        assertThat(a.token()).isEqualTo(-1);
    }

    @Test
    void everyTakeoverIncrementsTheTokenAndRenewalsDoNot() {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        Lease b = agentB.lease(Lease.ENFORCEMENT, "host-b:202:t0", TTL);

        assertThat(a.acquire()).isTrue();
        a.acquire();
        a.acquire();
        assertThat(a.token()).isEqualTo(1);
        expire(Lease.ENFORCEMENT);
        assertThat(a.acquire()).as("the holder renews its own expired lease nobody took").isTrue();
        assertThat(a.token()).isEqualTo(1);
        expire(Lease.ENFORCEMENT);
        b.acquire();
        expire(Lease.ENFORCEMENT);
        a.acquire();

        assertThat(b.current()).hasValueSatisfying(h -> {
            assertThat(h.holder()).isEqualTo("host-a:101:t0");
            assertThat(h.token()).isEqualTo(3);
        });
    }

    @Test
    void theOldHoldersGuardRefusesAfterATakeoverEvenBeforeItNotices() throws IOException {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        Lease b = agentB.lease(Lease.ENFORCEMENT, "host-b:202:t0", TTL);
        a.acquire();
        a.checkHeld("data");

        expire(Lease.ENFORCEMENT); // agent A paused (GC, stopped VM) past its lease
        assertThat(b.acquire()).isTrue();

        assertThat(a.held()).as("A's own view has not caught up yet").isTrue();
        assertThatThrownBy(() -> a.checkHeld("data"))
                .isInstanceOf(IOException.class)
                .hasMessage("lease enforcement was taken over by host-b:202:t0 (token 2); this agent's token 1 is stale");
        b.checkHeld("data");
    }

    @Test
    void theGuardRefusesAnExpiredLeaseThatNobodyTookYet() throws IOException {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        a.acquire();

        expire(Lease.ENFORCEMENT);

        assertThatThrownBy(() -> a.checkHeld("data"))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("lease enforcement expired at ");
        a.acquire();
        a.checkHeld("data");
    }

    @Test
    void theGuardRefusesAnAgentThatNeverHeldTheLeaseAndNamesTheHolder() {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        Lease b = agentB.lease(Lease.ENFORCEMENT, "host-b:202:t0", TTL);
        a.acquire();
        b.acquire();

        assertThatThrownBy(() -> b.checkHeld("data"))
                .isInstanceOf(IOException.class)
                .hasMessage("this agent does not hold lease enforcement; host-a:101:t0 (token 1) deletes");
    }

    @Test
    void theGuardRefusesWhenTheDatabaseDoesNotAnswer() throws Exception {
        // A pool-less data source, so that the refused connection is reported at once, not after the pool's wait.
        PGSimpleDataSource direct = new PGSimpleDataSource();
        direct.setUrl(url);
        direct.setPassword(server.env().get("PGPASSWORD"));
        Lease a = new Lease(direct, "test-db", Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        assertThat(a.acquire()).isTrue();
        String database = url.substring(url.lastIndexOf('/') + 1, url.indexOf('?'));
        try {
            server.execute(server.url("postgres"), "ALTER DATABASE " + database + " ALLOW_CONNECTIONS false");

            assertThatThrownBy(() -> a.checkHeld("data"))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("lease enforcement cannot be checked: test-db: reading lease enforcement failed");
            assertThatThrownBy(a::acquire).isInstanceOf(RegistryException.class);
            assertThat(a.held()).as("a renewal that failed counts as lost").isFalse();
        } finally {
            server.execute(server.url("postgres"), "ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");
        }
    }

    @Test
    void releaseLetsAnotherAgentTakeOverAtOnce() {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        Lease b = agentB.lease(Lease.ENFORCEMENT, "host-b:202:t0", TTL);
        a.acquire();

        a.release();

        assertThat(a.held()).isFalse();
        assertThat(b.acquire()).isTrue();
        assertThat(b.token()).isEqualTo(2);
    }

    @Test
    void theLeaseRunsByTheDatabasesClock() throws Exception {
        Lease a = agentA.lease(Lease.ENFORCEMENT, "host-a:101:t0", TTL);
        a.acquire();

        Instant databaseNow;
        try (Connection raw = server.connect(url); Statement s = raw.createStatement();
             ResultSet rs = s.executeQuery("SELECT now()")) {
            rs.next();
            databaseNow = rs.getTimestamp(1).toInstant();
        }
        Instant expires = a.current().orElseThrow().expiresAt();
        assertThat(Duration.between(databaseNow, expires)).isBetween(TTL.minusSeconds(30), TTL);
    }

    @Test
    void theLocalViewLapsesAfterTheLeaseTimeWithoutRenewal() {
        AtomicLong nanos = new AtomicLong(1_000);
        Lease a = new Lease(agentA.dataSource(), agentA.location(), Lease.ENFORCEMENT, "host-a:101:t0", TTL, nanos::get);
        a.acquire();
        assertThat(a.held()).isTrue();

        nanos.addAndGet(TTL.toNanos());

        assertThat(a.held()).isFalse();
        a.acquire();
        assertThat(a.held()).isTrue();
    }

    @Test
    void leasesOfDifferentNamesAreIndependent() {
        Lease a = agentA.lease("enforcement", "host-a:101:t0", TTL);
        Lease other = agentB.lease("offload", "host-b:202:t0", TTL);

        assertThat(a.acquire()).isTrue();
        assertThat(other.acquire()).isTrue();
    }

    @Test
    void theProcessHolderNamesHostPidAndStart() {
        String holder = Lease.processHolder();

        assertThat(holder.split(":", 3)).hasSize(3);
        assertThat(holder).contains(":" + ProcessHandle.current().pid() + ":");
        assertThat(Lease.processHolder()).isEqualTo(holder);
    }
}
