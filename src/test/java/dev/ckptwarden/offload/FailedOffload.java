package dev.ckptwarden.offload;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.registry.HistoryEvent;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What every failed offload must leave: the checkpoint whole in place, the registry truthful, an audit trail. */
final class FailedOffload {
    private FailedOffload() {
    }

    /**
     * @param before the checkpoint's files (path to sha256) before the pass
     * @return the item's detail, for further checks
     */
    static String check(OffloadSite site, Path checkpoint, Map<String, String> before, EnforcementReport report,
                        String outcome) throws Exception {
        assertThat(report.items()).hasSize(1);
        EnforcementReport.Item item = report.items().get(0);
        assertThat(item.outcome()).as(item.detail()).isEqualTo(outcome);
        assertThat(item.freed()).isZero();
        assertThat(OffloadSite.files(checkpoint)).isEqualTo(before);
        assertThat(site.registered(checkpoint).state()).isEqualTo(CheckpointState.COMPLETE);
        assertThat(site.events(checkpoint)).doesNotContain(OffloadReceipt.EVENT, "offloaded");
        List<HistoryEvent> failed = site.history(checkpoint, OffloadReceipt.FAILED_EVENT);
        assertThat(failed).hasSize(1);
        assertThat(failed.get(0).detail()).isNotBlank();
        List<AuditRecord> audit = site.auditLines();
        assertThat(audit).extracting(AuditRecord::phase).containsExactly(AuditRecord.BEGIN, AuditRecord.END);
        assertThat(audit.get(1).outcome()).isEqualTo(outcome);
        assertThat(audit.get(1).action()).isEqualTo("offload");
        assertThat(site.trashLeftovers()).isEmpty();
        return item.detail();
    }
}
