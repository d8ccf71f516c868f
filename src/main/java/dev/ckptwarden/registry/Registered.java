package dev.ckptwarden.registry;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Recognised;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One row of the registry: the facts the catalog recognised on disk, and the registry's own facts about
 * them (life-cycle state, pin, history). Made only by the registry (reading a row) and by {@link #merge}
 * of what the catalog found into the row it had; consumers that rank, protect, pin or report read this.
 *
 * @param facts      what the catalog found on disk when the row was last written
 * @param state      the life-cycle state: while on disk, the catalog's verdict (writing, complete, corrupt);
 *                   once gone, the registry's (deleted, offloaded)
 * @param note       why the state is what it is ("gone from disk", the judge's note), or null
 * @param pinned     whether a user pinned it; only {@link Registry#pin} changes it
 * @param pinReason  the pin's reason, null when unpinned or none was given
 * @param firstSeen  when the registry first registered this path (null: stamped by the registry on upsert)
 * @param stateSince when the state was reached (null: stamped by the registry on upsert)
 */
public record Registered(
        Checkpoint facts,
        CheckpointState state,
        String note,
        boolean pinned,
        String pinReason,
        Instant firstSeen,
        Instant stateSince) {

    public Registered {
        Objects.requireNonNull(facts, "facts");
        Objects.requireNonNull(state, "state");
    }


    /**
     * The row for what the catalog found now at a path, over the row {@code prev} the registry had there (null:
     * none): it keeps the pin, the first-seen time while the checkpoint stayed on disk, and the state-since
     * time while the verdict is the same; otherwise those times are {@code now}.
     */
    public static Registered merge(Recognised found, Registered prev, Instant now) {
        Instant since = prev != null && prev.state == found.state() ? prev.stateSince : now;
        Instant first = prev != null && prev.state.present() ? prev.firstSeen : now;
        return new Registered(found.checkpoint(), found.state(), found.note(), prev != null && prev.pinned,
                prev != null ? prev.pinReason : null, first, since);
    }

    /**
     * The catalog's verdict this row records: its facts, state and note. Only for a row on disk (writing,
     * complete, corrupt); a deleted or offloaded row has no verdict of the catalog's.
     */
    public Recognised recognised() {
        return new Recognised(facts, state, note);
    }

    /** This row with other facts found on disk (an alias informed by its target), its registry facts unchanged. */
    public Registered withFacts(Checkpoint newFacts) {
        return new Registered(newFacts, state, note, pinned, pinReason, firstSeen, stateSince);
    }

    public Registered withState(CheckpointState newState, Instant since, String newNote) {
        return new Registered(facts, newState, newNote, pinned, pinReason, firstSeen, since);
    }

    public Registered withPin(boolean pin, String reason) {
        return new Registered(facts, state, note, pin, pin ? reason : null, firstSeen, stateSince);
    }

    public Registered withHistory(Instant seen, Instant since) {
        return new Registered(facts, state, note, pinned, pinReason, seen, since);
    }

    public boolean isComplete() {
        return state == CheckpointState.COMPLETE;
    }

    // The facts most readers of a row want, so that they read as before.

    public String root() {
        return facts.root();
    }

    public String run() {
        return facts.run();
    }

    public String name() {
        return facts.name();
    }

    public Path path() {
        return facts.path();
    }

    public List<String> members() {
        return facts.members();
    }

    public Framework framework() {
        return facts.framework();
    }

    public CheckpointKind kind() {
        return facts.kind();
    }

    public Integer epoch() {
        return facts.epoch();
    }

    public Long step() {
        return facts.step();
    }

    public Map<String, Double> metrics() {
        return facts.metrics();
    }

    public long bytes() {
        return facts.bytes();
    }

    public Instant modified() {
        return facts.modified();
    }

    public Boolean resumable() {
        return facts.resumable();
    }

    public Path aliasOf() {
        return facts.aliasOf();
    }

    public List<Path> references() {
        return facts.references();
    }

    public List<String> problems() {
        return facts.problems();
    }

    public String signature() {
        return facts.signature();
    }

    /** See {@link Checkpoint#location()}. */
    public String location() {
        return facts.location();
    }

    /** See {@link Checkpoint#key()}. */
    public String key() {
        return facts.key();
    }
}
