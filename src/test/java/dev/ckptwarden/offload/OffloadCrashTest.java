package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.enforce.EnforcementListener;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.enforce.Enforcer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A process that dies between the rename into the trash and the registry update of an offload. */
class OffloadCrashTest {
    @TempDir
    Path tmp;

    @Test
    void recoveryAfterACrashRecordsTheOffloadNotADeletion() throws Exception {
        Path dir = tmp.resolve("site");
        String target = Files.createDirectories(tmp.resolve("archive")).toUri().toString();
        Map<String, String> before;
        try (OffloadSite site = new OffloadSite(dir, target, null)) {
            before = OffloadSite.files(site.lit(0));
        }
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), OffloadCrashChild.class.getName(), dir.toString(), target)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as(Files.readString(tmp.resolve("child.log"))).isEqualTo(OffloadCrashChild.HALTED);

        RemoteSettings settings = RemoteSettings.fromEnvironment(Map.of(), tmp);
        try (OffloadSite site = OffloadSite.reopen(dir, target, settings)) {
            assertThat(site.lit(0)).doesNotExist();
            assertThat(site.registered(site.lit(0)).state()).as("the crash came before the registry update")
                    .isEqualTo(CheckpointState.COMPLETE);
            assertThat(site.trashLeftovers()).isNotEmpty();

            EnforcementReport r = new Enforcer(site.registry, site.audit, EnforcementListener.NONE, settings)
                    .recover(site.rootConfig, site.root, site.clock.instant());

            assertThat(r.items()).extracting(EnforcementReport.Item::outcome).containsExactly("ok");
            assertThat(site.registered(site.lit(0)).state()).isEqualTo(CheckpointState.OFFLOADED);
            assertThat(site.trashLeftovers()).isEmpty();
            assertThat(OffloadSite.files(tmp.resolve("archive/data/ckpt/lit/epoch=0-step=10.ckpt"))).isEqualTo(before);
            assertThat(site.events(site.lit(0))).containsSubsequence(OffloadReceipt.EVENT, "offloaded");

            site.restore(site.lit(0));
            assertThat(OffloadSite.files(site.lit(0))).isEqualTo(before);
            assertThat(site.registered(site.lit(0)).state()).isEqualTo(CheckpointState.COMPLETE);
        }
    }

    @Test
    void restoreRefusesToOverwriteWhatIsThere() throws Exception {
        String target = Files.createDirectories(tmp.resolve("archive")).toUri().toString();
        RemoteSettings settings = RemoteSettings.fromEnvironment(Map.of(), tmp);
        try (OffloadSite site = new OffloadSite(tmp.resolve("site"), target, settings)) {
            assertThat(site.offload(site.lit(0)).items().get(0).outcome()).isEqualTo("ok");
            Files.writeString(site.lit(0), "a new file that took the name");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> site.restore(site.lit(0)))
                    .isInstanceOf(RestoreException.class).hasMessageContaining("exists; not overwritten");
            assertThat(Files.readString(site.lit(0))).isEqualTo("a new file that took the name");
            assertThat(site.registered(site.lit(0)).state()).isEqualTo(CheckpointState.OFFLOADED);
            assertThat(site.events(site.lit(0))).contains(Restorer.FAILED_EVENT);
            assertThat(site.trashLeftovers()).isEmpty();
            assertThat(List.of(site.root.resolve("lit").toFile().list())).noneMatch(n -> n.contains("restore"));
        }
    }
}
