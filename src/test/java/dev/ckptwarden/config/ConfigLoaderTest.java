package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    /** The example of SPEC.md "Configuration", verbatim. */
    static final String SPEC_EXAMPLE = """
            agent:
              state_dir: /var/lib/ckpt-warden        # registry database and audit log
              listen: 127.0.0.1:9847                 # /metrics, /healthz, /api/v1/...
              reconcile_interval: 5m                 # full rescan that catches anything the watcher missed
              settle_time: 10s                       # a file untouched this long, and valid, is complete
              registry_url: ""                       # empty: embedded database in state_dir; or jdbc:postgresql://... (cluster mode)
              cluster: false                         # true: several agents share registry_url and coordinate sweeps

            roots:
              - path: /data/checkpoints              # local path, file:// URI, or a remote URI (sftp://, s3://) that is polled
                layout: auto                         # auto | lightning | huggingface | deepspeed | orbax | dcp | nemo | keras | files
                patterns: []                         # extra name templates, e.g. "weights.{epoch:02d}-{val_loss:.2f}.hdf5"
                retention:                           # a root without retention is watch-only: registry and metrics, no deletion
                  keep_last: 3
                  keep_best: {k: 3, metric: val_loss, mode: min}
                  keep_every: {steps: 5000}          # or {epochs: 5}: milestones
                  keep_within: 24h
                quota:
                  max_bytes: 500GiB                  # whole root
                  run_max_bytes: 100GiB              # each run
                disk:
                  min_free: 50GiB                    # or min_free_ratio: 0.10; below it, pressure eviction starts
                action: delete                       # delete | offload | report
                offload: {target: "sftp://archive/ckpt", verify: sha256}
                overrides:
                  - match: "llada8b/**"              # glob on the run id
                    retention: {keep_last: 5}
            """;

    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    @Test
    void specExampleLoadsWithEveryFieldRight() throws Exception {
        Path file = dir.resolve("ckpt-warden.yaml");
        Files.writeString(file, SPEC_EXAMPLE);

        Config config = ConfigLoader.load(file, Map.of());

        assertThat(config.source()).isEqualTo(file);
        assertThat(config.agent()).isEqualTo(new AgentSettings(Path.of("/var/lib/ckpt-warden"), "127.0.0.1:9847",
                Duration.ofMinutes(5), Duration.ofSeconds(10), "", false, 500));
        assertThat(config.roots()).hasSize(1);
        RootConfig root = config.roots().get(0);
        assertThat(root.name()).isEqualTo("/data/checkpoints");
        assertThat(root.path()).isEqualTo("/data/checkpoints");
        assertThat(root.layout()).isEqualTo(Layout.AUTO);
        assertThat(root.patterns()).isEmpty();
        assertThat(root.retention()).isEqualTo(new Retention(3, new KeepBest(3, "val_loss", KeepBest.Mode.MIN),
                new KeepEvery(5000L, null), Duration.ofHours(24)));
        assertThat(root.quota()).isEqualTo(new Quota(500 * GIB, 100 * GIB));
        assertThat(root.disk()).isEqualTo(new DiskWatermark(50 * GIB, null));
        assertThat(root.action()).isEqualTo(Action.DELETE);
        assertThat(root.offload()).isEqualTo(new Offload("sftp://archive/ckpt", "sha256"));
        assertThat(root.overrides()).containsExactly(new RetentionOverride("llada8b/**",
                new Retention(5, null, null, null)));
        assertThat(config.root("/data/checkpoints")).isSameAs(root);
    }

    @Test
    void missingAgentSectionMeansDefaults() throws Exception {
        Config config = parse("roots:\n  - path: /data/ckpt\n");

        assertThat(config.agent()).isEqualTo(AgentSettings.defaults(Path.of("/var/lib/ckpt-warden")));
        assertThat(config.agent().metricsMaxRuns()).isEqualTo(500);
    }

    @Test
    void policyChangeGraceDefaultsToFiveMinutesAndZeroMeansAtOnce() throws Exception {
        assertThat(parse("roots:\n  - path: /data/ckpt\n").agent().policyChangeGrace()).isEqualTo(Duration.ofMinutes(5));
        assertThat(parse("agent:\n  policy_change_grace: 0s\nroots:\n  - path: /data/ckpt\n").agent()
                .policyChangeGrace()).isZero();
        assertThat(parse("agent:\n  policy_change_grace: 1h\nroots:\n  - path: /data/ckpt\n").agent()
                .policyChangeGrace()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void emptyAgentSectionMeansDefaults() throws Exception {
        Config config = parse("agent:\nroots:\n  - path: /data/ckpt\n");

        assertThat(config.agent()).isEqualTo(AgentSettings.defaults(Path.of("/var/lib/ckpt-warden")));
    }

    @Test
    void everyAgentKeyIsRead() throws Exception {
        Config config = parse("""
                agent:
                  state_dir: /srv/warden
                  listen: "[::1]:9000"
                  reconcile_interval: 1h30m
                  settle_time: 0s
                  registry_url: jdbc:postgresql://db.internal/ckpt_warden
                  cluster: true
                  metrics_max_runs: 50
                roots:
                  - path: /data/ckpt
                """);

        assertThat(config.agent()).isEqualTo(new AgentSettings(Path.of("/srv/warden"), "[::1]:9000",
                Duration.ofMinutes(90), Duration.ZERO, "jdbc:postgresql://db.internal/ckpt_warden", true, 50));
    }

    @Test
    void relativeStateDirIsResolvedAgainstTheWorkingDirectoryButRootPathsStayAsWritten() throws Exception {
        Config config = parse("""
                agent: {state_dir: ./state/../var}
                roots:
                  - path: data/checkpoints
                """);

        assertThat(config.agent().stateDir())
                .isEqualTo(Path.of(System.getProperty("user.dir")).resolve("var"))
                .isAbsolute();
        assertThat(config.roots().get(0).path()).isEqualTo("data/checkpoints");
        assertThat(config.roots().get(0).name()).isEqualTo("data/checkpoints");
    }

    @Test
    void rootWithoutRetentionIsWatchOnlyAndReports() throws Exception {
        RootConfig root = parse("roots:\n  - path: /data/ckpt\n    quota: {max_bytes: 1TB}\n").roots().get(0);

        assertThat(root.retention()).isNull();
        assertThat(root.action()).isEqualTo(Action.REPORT);
        assertThat(root.quota()).isEqualTo(new Quota(1_000_000_000_000L, null));
        assertThat(root.disk()).isEqualTo(DiskWatermark.NONE);
        assertThat(root.offload()).isNull();
    }

    @Test
    void actionDefaultsToDeleteWithRetentionAndToOffloadWhenAnOffloadTargetIsGiven() throws Exception {
        Config config = parse("""
                roots:
                  - path: /a
                    retention: {keep_last: 2}
                  - path: /b
                    retention: {keep_last: 2}
                    offload: {target: "s3://bucket/ckpt", verify: size}
                """);

        assertThat(config.roots().get(0).action()).isEqualTo(Action.DELETE);
        assertThat(config.roots().get(1).action()).isEqualTo(Action.OFFLOAD);
        assertThat(config.roots().get(1).offload()).isEqualTo(new Offload("s3://bucket/ckpt", "size"));
    }

    @Test
    void secondaryFormsAreRead() throws Exception {
        RootConfig root = parse("""
                roots:
                  - name: keras-runs
                    path: file:///data/keras
                    layout: Keras
                    patterns: ["weights.{epoch:02d}-{val_loss:.2f}.hdf5"]
                    retention:
                      keep_best: {k: 1, metric: val/acc, mode: max}
                      keep_every: {epochs: 5}
                    disk: {min_free_ratio: 10%}
                    action: report
                """).roots().get(0);

        assertThat(root.name()).isEqualTo("keras-runs");
        assertThat(root.path()).isEqualTo("file:///data/keras");
        assertThat(root.isLocal()).isTrue();
        assertThat(root.layout()).isEqualTo(Layout.KERAS);
        assertThat(root.patterns()).containsExactly("weights.{epoch:02d}-{val_loss:.2f}.hdf5");
        assertThat(root.retention()).isEqualTo(new Retention(null, new KeepBest(1, "val/acc", KeepBest.Mode.MAX),
                new KeepEvery(null, 5), null));
        assertThat(root.disk().minFreeRatio()).isEqualTo(0.10);
        assertThat(root.action()).isEqualTo(Action.REPORT);
    }

    @Test
    void keepBestModeDefaultsToMin() throws Exception {
        Retention r = parse("roots:\n  - path: /a\n    retention:\n      keep_best: {k: 2, metric: loss}\n")
                .roots().get(0).retention();

        assertThat(r.keepBest()).isEqualTo(new KeepBest(2, "loss", KeepBest.Mode.MIN));
    }

    @Test
    void environmentOverridesListenAndStateDir() throws Exception {
        Config config = ConfigLoader.parse(SPEC_EXAMPLE, Path.of("conf/ckpt-warden.yaml"),
                Map.of("CKPT_WARDEN_LISTEN", "0.0.0.0:19847", "CKPT_WARDEN_STATE_DIR", "/scratch/warden"));

        assertThat(config.agent().listen()).isEqualTo("0.0.0.0:19847");
        assertThat(config.agent().stateDir()).isEqualTo(Path.of("/scratch/warden"));
    }

    @Test
    void blankEnvironmentValueIsIgnoredLikeAnUnsetOne() throws Exception {
        Config config = ConfigLoader.parse(SPEC_EXAMPLE, null, Map.of("CKPT_WARDEN_LISTEN", " "));

        assertThat(config.agent().listen()).isEqualTo("127.0.0.1:9847");
    }

    @Test
    void missingFileIsOneErrorNamingTheFile() {
        Path file = dir.resolve("absent.yaml");

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ": configuration file not found");
    }

    @Test
    void byteOrderMarkIsIgnored() throws Exception {
        Config config = parse("\uFEFFroots:\n  - path: /a\n");

        assertThat(config.roots()).extracting(RootConfig::path).isEqualTo(List.of("/a"));
    }

    private static Config parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, Path.of("test.yaml"), Map.of());
    }

    /**
     * Found by fuzzing (ConfigFuzzTest, crash-02ca77a7): a file that is one multi-line text instead of a mapping
     * was quoted whole into its error, so the "one line per error" a user greps for split in two.
     */
    @Test
    void anErrorQuotingMultiLineTextStaysOneLine() {
        assertThatThrownBy(() -> ConfigLoader.parse("?# ckpt-warden config is complete\n\norder the roots\n",
                Path.of("ckpt-warden.yaml"), Map.of()))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors()).isNotEmpty()
                        .allSatisfy(error -> assertThat(error.toString()).doesNotContain("\n").doesNotContain("\r")
                                .contains("ckpt-warden.yaml:1:1:")));
    }
}
