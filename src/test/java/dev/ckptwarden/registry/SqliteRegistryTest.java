package dev.ckptwarden.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static dev.ckptwarden.registry.Checkpoints.T0;
import static dev.ckptwarden.registry.Checkpoints.complete;
import static dev.ckptwarden.registry.Checkpoints.withMetrics;
import static dev.ckptwarden.registry.Checkpoints.everyFieldSet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

class SqliteRegistryTest {

    @TempDir
    Path stateDir;

    private final SettableClock clock = new SettableClock(T0.plus(Duration.ofHours(1)));
    private SqliteRegistry registry;

    @BeforeEach
    void open() {
        registry = SqliteRegistry.open(stateDir, clock);
    }

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void storedMetricsAreStandardJsonWithNonFiniteValuesAsStrings() throws Exception {
        registry.upsert(List.of(everyFieldSet()));

        String stored;
        try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + registry.database());
             PreparedStatement select = raw.prepareStatement("SELECT metrics, state, framework FROM checkpoints")) {
            try (ResultSet rs = select.executeQuery()) {
                assertThat(rs.next()).isTrue();
                stored = rs.getString(1);
                assertThat(rs.getString(2)).isEqualTo("corrupt");
                assertThat(rs.getString(3)).isEqualTo("huggingface");
            }
        }
        // A default ObjectMapper rejects bare NaN tokens, so this parse proves the column is plain JSON.
        JsonNode metrics = new ObjectMapper().readTree(stored);
        assertThat(metrics.get("train_loss").textValue()).isEqualTo("NaN");
        assertThat(metrics.get("ppl").textValue()).isEqualTo("Infinity");
        assertThat(metrics.get("margin").textValue()).isEqualTo("-Infinity");
        assertThat(metrics.get("lr").isNumber()).isTrue();
    }

    @Test
    void presentReadsNullsEmptyTextsAndTheSameRowsAsTheOtherReads() {
        Registered sparse = new Registered(new Checkpoint("r", ".", "model.bin", Path.of("/data/r/model.bin"),
                List.of(), Framework.UNKNOWN, CheckpointKind.FILE, null, null, Map.of(), 0L, null, null, null,
                List.of(), List.of(), null), CheckpointState.WRITING, null, false, null, T0, T0);
        Registered empties = new Registered(new Checkpoint("r", "", "", Path.of("/data/r/x"), List.of(""),
                Framework.TORCH, CheckpointKind.FILE, 0, 0L, Map.of("", 0.5), 1L, T0, true, Path.of("/data/r/y"),
                List.of(Path.of("/data/r/z")), List.of(""), ""), CheckpointState.COMPLETE, "", true, "", T0, T0);

        registry.upsert(List.of(sparse, empties));

        assertThat(registry.present("r")).containsOnly(Map.entry(sparse.key(), sparse), Map.entry(empties.key(), empties));
    }

    @Test
    void aRowThatDoesNotPackIsStillReadWhole() throws Exception {
        Registered odd = withMetrics(complete("r", "run", "a.ckpt", 1L), Map.of("loss", 0.25));
        odd = odd.withState(CheckpointState.COMPLETE, T0, "a note with a \0 NUL in it");
        registry.upsert(List.of(odd, complete("r", "run", "b.ckpt", 2L)));
        try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + registry.database());
             PreparedStatement update = raw.prepareStatement("UPDATE checkpoints SET metrics = ? WHERE path = ?")) {
            // Valid JSON that the registry does not write itself: spaces, an escaped key, integers, -0.
            update.setString(1, "{ \"a\\\"b\": 3, \"c\" : -0, \"d\":1E2 }");
            update.setString(2, complete("r", "run", "b.ckpt", 2L).key());
            assertThat(update.executeUpdate()).isOne();
        }

        Map<String, Registered> present = registry.present("r");

        assertThat(present.get(odd.key())).isEqualTo(odd);
        assertThat(present.get(odd.key()).note()).contains("\0");
        Map<String, Double> metrics = present.get(complete("r", "run", "b.ckpt", 2L).key()).metrics();
        assertThat(metrics).containsOnly(Map.entry("a\"b", 3.0), Map.entry("c", 0.0), Map.entry("d", 100.0));
        assertThat(Double.doubleToRawLongBits(metrics.get("c"))).as("Jackson reads the integer -0 as 0").isZero();
    }

    @Test
    void aDamagedMetricsColumnIsReportedWithItsPath() throws Exception {
        Registered a = complete("r", "run", "a.ckpt", 1L);
        registry.upsert(List.of(a));
        try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + registry.database());
             Statement update = raw.createStatement()) {
            update.executeUpdate("UPDATE checkpoints SET metrics = '{\"loss\": oops}'");
        }

        assertThatThrownBy(() -> registry.present("r")).isInstanceOf(RegistryException.class)
                .hasMessageContaining(a.key()).hasMessageContaining("cannot be read");
    }

}
