package dev.ckptwarden.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A {@link Checkpoint} as a row of the {@code checkpoints} table, the same for SQLite and PostgreSQL:
 * the column list, reading a row and binding one. Lists (members, problems, references) are JSON
 * arrays in text, instants are {@link InstantText}, booleans go through JDBC's boolean calls, which
 * SQLite's driver maps to 0 and 1.
 */
final class CheckpointRows {

    /** Every column, in the order {@link #read} and {@link #bind} use. */
    static final String COLUMNS = "path, root, run, name, members, framework, kind, state, epoch, step,"
            + " metrics, bytes, modified, resumable, alias_of, pinned, pin_reason, problems, signature,"
            + " first_seen, state_since, note, refs";
    static final List<String> COLUMN_NAMES = Arrays.stream(COLUMNS.split(",")).map(String::trim).toList();

    /** Insert, or on a known path overwrite every column; the caller binds the already merged row. */
    static final String UPSERT = "INSERT INTO checkpoints (" + COLUMNS + ")"
            + " VALUES (" + String.join(", ", java.util.Collections.nCopies(COLUMN_NAMES.size(), "?")) + ")"
            + " ON CONFLICT (path) DO UPDATE SET " + COLUMN_NAMES.stream()
            .filter(column -> !column.equals("path"))
            .map(column -> column + " = excluded." + column)
            .collect(Collectors.joining(", "));

    /** {@code (...)}: the ids of the states that are on disk, for {@code state IN}. */
    static final String PRESENT_STATES = Arrays.stream(CheckpointState.values())
            .filter(CheckpointState::present)
            .map(state -> "'" + state.id() + "'")
            .collect(Collectors.joining(", ", "(", ")"));

    /** Built on first use: a warm scan reads only empty lists and so never needs Jackson's databind. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
        static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {
        };
    }

    private CheckpointRows() {
    }

    /** The checkpoint in the current row of a {@code SELECT} of {@link #COLUMNS}. */
    static Registered read(ResultSet rs) throws SQLException {
        String path = rs.getString(1);
        try {
            long epoch = rs.getLong(9);
            Integer epochValue = rs.wasNull() ? null : Math.toIntExact(epoch);
            long step = rs.getLong(10);
            Long stepValue = rs.wasNull() ? null : step;
            String metrics = rs.getString(11);
            boolean resumable = rs.getBoolean(14);
            Boolean resumableValue = rs.wasNull() ? null : resumable;
            String aliasOf = rs.getString(15);
            return new Registered(new Checkpoint(
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    Path.of(path),
                    strings(rs.getString(5)),
                    Framework.fromId(rs.getString(6)),
                    CheckpointKind.fromId(rs.getString(7)),
                    epochValue,
                    stepValue,
                    MetricsJson.parse(metrics),
                    rs.getLong(12),
                    InstantText.parse(rs.getString(13)),
                    resumableValue,
                    aliasOf == null ? null : Path.of(aliasOf),
                    paths(strings(rs.getString(23))),
                    strings(rs.getString(18)),
                    rs.getString(19)),
                    CheckpointState.fromId(rs.getString(8)),
                    rs.getString(22),
                    rs.getBoolean(16),
                    rs.getString(17),
                    InstantText.parse(rs.getString(20)),
                    InstantText.parse(rs.getString(21)));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new SQLException("row " + path + " cannot be read: " + Schema.oneLine(e.getMessage()), e);
        }
    }

    /**
     * Binds {@link #UPSERT}: {@code incoming}'s own columns, and the registry's own ones (first seen, state
     * since, pin) as {@code merged} decided them.
     */
    static void bind(PreparedStatement upsert, Registered incoming, UpsertMerge.Kept merged) throws SQLException {
        int i = 0;
        upsert.setString(++i, incoming.key());
        upsert.setString(++i, incoming.root());
        upsert.setString(++i, incoming.run());
        upsert.setString(++i, incoming.name());
        upsert.setString(++i, json(incoming.facts().members()));
        upsert.setString(++i, incoming.framework().id());
        upsert.setString(++i, incoming.kind().id());
        upsert.setString(++i, incoming.state().id());
        setNullable(upsert, ++i, incoming.epoch(), Types.INTEGER);
        setNullable(upsert, ++i, incoming.step(), Types.BIGINT);
        upsert.setString(++i, incoming.metrics().isEmpty() ? "{}" : MetricsJson.toNode(incoming.metrics()).toString());
        upsert.setLong(++i, incoming.bytes());
        upsert.setString(++i, InstantText.format(incoming.modified()));
        if (incoming.resumable() == null) {
            upsert.setNull(++i, Types.BOOLEAN);
        } else {
            upsert.setBoolean(++i, incoming.resumable());
        }
        upsert.setString(++i, incoming.aliasOf() == null ? null : incoming.aliasOf().toString());
        upsert.setBoolean(++i, merged.pinned());
        upsert.setString(++i, merged.pinReason());
        upsert.setString(++i, json(incoming.problems()));
        upsert.setString(++i, incoming.facts().signature());
        upsert.setString(++i, merged.firstSeen());
        upsert.setString(++i, merged.stateSince());
        upsert.setString(++i, incoming.note());
        upsert.setString(++i, json(incoming.references().stream().map(Path::toString).toList()));
    }

    private static void setNullable(PreparedStatement statement, int index, Number value, int sqlType)
            throws SQLException {
        if (value == null) {
            statement.setNull(index, sqlType);
        } else if (sqlType == Types.INTEGER) {
            // PostgreSQL's INTEGER column takes an int; SQLite stores either alike.
            statement.setInt(index, value.intValue());
        } else {
            statement.setLong(index, value.longValue());
        }
    }

    /** A JSON array of strings as a list. */
    static List<String> strings(String json) throws JsonProcessingException {
        return "[]".equals(json) ? List.of() : Json.MAPPER.readValue(json, Json.STRING_LIST);
    }

    static List<Path> paths(List<String> strings) {
        if (strings.isEmpty()) {
            return List.of();
        }
        List<Path> out = new ArrayList<>(strings.size());
        for (String s : strings) {
            out.add(Path.of(s));
        }
        return out;
    }

    private static String json(List<String> strings) {
        if (strings.isEmpty()) {
            return "[]";
        }
        try {
            return Json.MAPPER.writeValueAsString(strings);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a list of strings always serialises", e);
        }
    }
}
