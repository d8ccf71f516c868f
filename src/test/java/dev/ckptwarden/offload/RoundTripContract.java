package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.PathInspector;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.registry.HistoryEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The offload round trip every target must pass: three checkpoints (an HF directory and two
 * Lightning files) offloaded through the enforcer, byte-identical on the target with matching
 * sha256, gone locally through the trash with audit lines, registered as offloaded; one restored
 * intact and complete.
 */
abstract class RoundTripContract {
    @TempDir
    Path tmp;

    /** The offload target URI. */
    abstract String target();

    abstract RemoteSettings settings();

    /** The files the target holds below {@code rel} (relative to the target), relative path to SHA-256. */
    abstract Map<String, String> remoteFiles(String rel) throws Exception;

    /** The checkpoint's URI as the offload records it. */
    abstract String uriOf(String rel);

    @Test
    void offloadThreeThenRestoreOne() throws Exception {
        try (OffloadSite site = new OffloadSite(tmp.resolve("site"), target(), settings())) {
            Map<String, String> hfBefore = OffloadSite.files(site.hf100());
            Map<String, Long> hfTimes = OffloadSite.mtimes(site.hf100());
            Map<String, String> lit0 = OffloadSite.files(site.lit(0));
            Map<String, String> lit1 = OffloadSite.files(site.lit(1));

            EnforcementReport report = site.offload(site.hf100(), site.lit(0), site.lit(1));

            assertThat(report.items()).extracting(EnforcementReport.Item::outcome).containsExactly("ok", "ok", "ok");
            assertThat(report.problems()).isEmpty();
            assertThat(report.freedBytes()).isPositive();
            for (Path p : List.of(site.hf100(), site.lit(0), site.lit(1))) {
                assertThat(p).doesNotExist();
                assertThat(site.registered(p).state()).isEqualTo(CheckpointState.OFFLOADED);
                assertThat(site.registered(p).note()).isEqualTo("policy");
            }
            assertThat(site.lit(2)).exists();
            assertThat(site.root.resolve("hf/checkpoint-200")).exists();
            assertThat(site.trashLeftovers()).isEmpty();

            assertThat(remoteFiles("data/ckpt/hf/checkpoint-100")).isEqualTo(hfBefore);
            assertThat(remoteFiles("data/ckpt/lit/epoch=0-step=10.ckpt")).isEqualTo(lit0);
            assertThat(remoteFiles("data/ckpt/lit/epoch=1-step=20.ckpt")).isEqualTo(lit1);

            HistoryEvent recorded = site.history(site.lit(0), OffloadReceipt.EVENT).get(0);
            assertThat(recorded.detail()).startsWith("uri=" + uriOf("data/ckpt/lit/epoch=0-step=10.ckpt")
                    + " sha256=" + lit0.values().iterator().next() + " ");
            OffloadReceipt hf = OffloadReceipt.parse(site.history(site.hf100(), OffloadReceipt.EVENT).get(0).detail());
            assertThat(hf.uri()).isEqualTo(uriOf("data/ckpt/hf/checkpoint-100"));
            assertThat(hf.files()).isEqualTo(2);

            List<AuditRecord> audit = site.auditLines();
            assertThat(audit).hasSize(6).allSatisfy(a -> assertThat(a.action()).isEqualTo("offload"));
            assertThat(audit.stream().filter(a -> a.phase().equals(AuditRecord.END)))
                    .allSatisfy(a -> {
                        assertThat(a.outcome()).isEqualTo("ok");
                        assertThat(a.detail()).startsWith("offloaded to " + uriOf("data/ckpt/"));
                    });

            Restorer.Restored restored = site.restore(site.hf100());

            assertThat(restored.uri()).isEqualTo(hf.uri());
            assertThat(OffloadSite.files(site.hf100())).isEqualTo(hfBefore);
            assertThat(OffloadSite.mtimes(site.hf100())).isEqualTo(hfTimes);
            assertThat(restored.checkpoint().state()).isEqualTo(CheckpointState.COMPLETE);
            PathInspector.Result inspected = new PathInspector(Layout.AUTO, NameParser.standard(), Duration.ofSeconds(10))
                    .inspect(site.hf100(), OffloadSite.ROOT_NAME, site.root, site.clock.instant());
            assertThat(inspected.recognised().state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(inspected.checkpoint().problems()).isEmpty();
            assertThat(inspected.checkpoint().signature()).isEqualTo(site.registered(site.hf100()).signature());
            site.reconcile();
            assertThat(site.registered(site.hf100()).state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(site.events(site.hf100())).contains(OffloadReceipt.EVENT, "offloaded", "reappeared", Restorer.EVENT);
            assertThat(site.trashLeftovers()).isEmpty();
            assertThat(site.registered(site.lit(0)).state()).isEqualTo(CheckpointState.OFFLOADED);
        }
    }
}
