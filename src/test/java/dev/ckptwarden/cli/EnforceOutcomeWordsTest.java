package dev.ckptwarden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.ckptwarden.config.Action;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.enforce.Outcome;
import dev.ckptwarden.export.CheckpointJson;
import dev.ckptwarden.offload.OffloadException;
import dev.ckptwarden.policy.EvictionCause;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The words {@code enforce} prints for what happened to each eviction, in its table and in
 * {@code --json}, are the words scripts and the audit log have always used: an {@link Outcome} is turned
 * into words only here, so a renamed enum constant or a changed renderer must show up as a failure.
 */
class EnforceOutcomeWordsTest {
    private static final Path ROOT = Path.of("/data/ckpt");
    private static final Path CKPT = ROOT.resolve("run/step=1.ckpt");

    /** Every outcome there is, and its words; checked below to name every kind, skip and failure. */
    private static Map<Outcome, String> documented() {
        Map<Outcome, String> m = new LinkedHashMap<>();
        m.put(Outcome.removed(null), "ok");
        m.put(Outcome.removed("already gone"), "ok");
        m.put(Outcome.dryRun(null), "dry-run");
        m.put(Outcome.report(null), "report");
        m.put(skipped(Outcome.Skip.PINNED), "skipped:pinned");
        m.put(skipped(Outcome.Skip.WRITING), "skipped:writing");
        m.put(skipped(Outcome.Skip.CORRUPT), "skipped:corrupt");
        m.put(skipped(Outcome.Skip.PROTECTED), "skipped:protected");
        m.put(skipped(Outcome.Skip.OUTSIDE_ROOT), "skipped:outside root");
        m.put(skipped(Outcome.Skip.SYMBOLIC_LINK), "skipped:symbolic link");
        m.put(skipped(Outcome.Skip.CHANGED_SINCE_PLANNED), "skipped:changed since planned");
        m.put(skipped(Outcome.Skip.NOT_REGISTERED), "skipped:not registered");
        m.put(skipped(Outcome.Skip.NOT_PRESENT), "skipped:not present");
        m.put(skipped(Outcome.Skip.WATCH_ONLY_ROOT), "skipped:watch-only root");
        m.put(skipped(Outcome.Skip.OTHER_ROOT), "skipped:other root");
        m.put(skipped(Outcome.Skip.AGENT_STOPPING), "skipped:agent stopping");
        m.put(skipped(Outcome.Skip.INTERRUPTED_BEFORE_RENAME), "skipped:interrupted before rename");
        m.put(failed(Outcome.Failure.NOT_ALLOWED), "failed:not allowed to delete");
        m.put(failed(Outcome.Failure.AUDIT_LOG_UNAVAILABLE), "failed:audit log unavailable");
        m.put(failed(Outcome.Failure.DELETE_CUT_SHORT), "failed:delete cut short");
        m.put(failed(Outcome.Failure.OFFLOAD_FROM_REMOTE_ROOT), "failed:offload from a remote root not supported");
        m.put(failed(Outcome.Failure.OFFLOAD_NO_TARGET), "failed:offload no target");
        m.put(Outcome.offloadFailed(OffloadException.Kind.UNREACHABLE, "sftp://host: connection refused"),
                "failed:offload unreachable");
        m.put(Outcome.offloadFailed(OffloadException.Kind.WRITE, "disk full at the target"),
                "failed:offload remote write failed");
        m.put(Outcome.offloadFailed(OffloadException.Kind.VERIFICATION, "sha256 differs"),
                "failed:offload verification failed");
        m.put(Outcome.ioFailed("/data/ckpt/run/step=1.ckpt: Permission denied", null),
                "failed:/data/ckpt/run/step=1.ckpt: Permission denied");
        return m;
    }

    private static Outcome skipped(Outcome.Skip why) {
        return Outcome.skipped(why, "why in more words");
    }

    private static Outcome failed(Outcome.Failure what) {
        return Outcome.failed(what, "what failed in more words");
    }

    private static EnforcementReport report(EvictionCause cause, Outcome outcome) {
        EnforcementReport.Item item = new EnforcementReport.Item(CKPT, "run", 2048, cause, outcome, 0);
        return new EnforcementReport("main", ROOT, Action.DELETE, false, List.of(item), List.of());
    }

    private static JsonNode json(EnforcementReport r) {
        ArrayNode arr = CheckpointJson.MAPPER.createArrayNode();
        EnforceCommand.items(arr, r);
        return arr.get(0);
    }

    @Test
    void everyOutcomeIsShownWithItsDocumentedWordsInTheTableAndTheJson() {
        documented().forEach((outcome, words) -> {
            EnforcementReport r = report(EvictionCause.POLICY, outcome);
            EnforcementReport.Item item = r.items().get(0);

            JsonNode n = json(r);
            assertThat(n.get("outcome").asText()).as(outcome.toString()).isEqualTo(words);
            assertThat(n.get("detail").isNull() ? null : n.get("detail").asText()).isEqualTo(outcome.detail());
            assertThat(EnforceCommand.cells("main", r, item, false))
                    .containsExactly("main", Path.of("run/step=1.ckpt"), "2 KiB", "policy", words, outcome.detail());
            assertThat(EnforceCommand.cells("main", r, item, true)[4]).isEqualTo("recovered " + words);
        });
    }

    @Test
    void theDocumentedWordsNameEveryKindOfOutcome() {
        Set<Outcome.Kind> kinds = EnumSet.noneOf(Outcome.Kind.class);
        Set<Outcome.Skip> skips = EnumSet.noneOf(Outcome.Skip.class);
        Set<Outcome.Failure> failures = EnumSet.noneOf(Outcome.Failure.class);
        for (Outcome o : documented().keySet()) {
            kinds.add(o.kind());
            if (o.skip() != null) {
                skips.add(o.skip());
            }
            if (o.failure() != null) {
                failures.add(o.failure());
            }
        }
        // A new way for an eviction to end needs its words written down above before it ships.
        assertThat(kinds).containsExactlyInAnyOrder(Outcome.Kind.values());
        assertThat(skips).containsExactlyInAnyOrder(Outcome.Skip.values());
        assertThat(failures).containsExactlyInAnyOrder(Outcome.Failure.values());
    }

    @Test
    void everyEvictionCauseIsShownAsItsReasonInTheTableAndTheJson() {
        Map<EvictionCause, String> reasons = Map.of(EvictionCause.POLICY, "policy", EvictionCause.QUOTA, "quota",
                EvictionCause.RUN_QUOTA, "run_quota", EvictionCause.DISK_PRESSURE, "disk_pressure",
                EvictionCause.MANUAL, "manual");
        assertThat(reasons.keySet()).containsExactlyInAnyOrder(EvictionCause.values());
        reasons.forEach((cause, reason) -> {
            EnforcementReport r = report(cause, Outcome.removed(null));
            assertThat(json(r).get("reason").asText()).isEqualTo(reason);
            assertThat(EnforceCommand.cells("main", r, r.items().get(0), false)[3]).isEqualTo(reason);
        });
    }
}
