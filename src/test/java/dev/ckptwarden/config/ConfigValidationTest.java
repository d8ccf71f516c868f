package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.assertj.core.api.Assertions.tuple;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of mistake a user can make in ckpt-warden.yaml, and the line that explains it. */
class ConfigValidationTest {

    private static final Path FILE = Path.of("conf/ckpt-warden.yaml");

    @Test
    void unknownKeyIsReportedAtItsLineWithASuggestion() {
        List<ConfigError> errors = errors("""
                roots:
                  - path: /data/ckpt
                    retention:
                      keep_last: 3
                      keep_lst: 5
                """);

        assertThat(errors).extracting(ConfigError::toString).containsExactly(
                "conf/ckpt-warden.yaml:5:7: roots[0].retention.keep_lst: unknown key (did you mean keep_last?)");
        assertThat(errors.get(0)).isEqualTo(new ConfigError(FILE, 5, 7, "roots[0].retention.keep_lst",
                "unknown key (did you mean keep_last?)"));
    }

    @Test
    void keyInTheWrongSectionSaysWhereItBelongs() {
        assertThat(messages("roots:\n  - path: /a\n    keep_last: 3\n")).containsExactly(
                "conf/ckpt-warden.yaml:3:5: roots[0].keep_last: unknown key here (keep_last belongs under retention)");
    }

    @Test
    void unknownKeyFarFromAnyKnownOneListsTheKnownKeys() {
        assertThat(messages("agent: {colour: blue}\nroots:\n  - path: /a\n")).singleElement().asString()
                .startsWith("conf/ckpt-warden.yaml:1:9: agent.colour: unknown key (expected one of: state_dir, listen,");
    }

    @Test
    void topLevelTypoIsSuggested() {
        assertThat(messages("root:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:1:1: root: unknown key (did you mean roots?)",
                "conf/ckpt-warden.yaml:1:1: roots: no roots configured: add at least one entry with a path: under roots:");
    }

    @Test
    void duplicateKeyIsAnErrorNamingBothLines() {
        assertThat(messages("""
                roots:
                  - path: /a
                    retention:
                      keep_last: 3
                      keep_last: 30
                """)).containsExactly("conf/ckpt-warden.yaml:5:7: roots[0].retention.keep_last: duplicate key "
                + "(first set at line 4); YAML would silently keep only the last one, so remove one of them");
    }

    @Test
    void badSizeQuotesTheText() {
        assertThat(messages("roots:\n  - path: /a\n    quota: {max_bytes: lots}\n")).containsExactly(
                "conf/ckpt-warden.yaml:3:24: roots[0].quota.max_bytes: expected a size like 500GiB, got 'lots'");
    }

    @Test
    void ambiguousSizeUnitIsRejected() {
        assertThat(messages("roots:\n  - path: /a\n    disk:\n      min_free: 50G\n")).singleElement().asString()
                .contains("roots[0].disk.min_free: ambiguous unit 'G' in '50G': write 50GB");
    }

    @Test
    void badDurationQuotesTheText() {
        assertThat(messages("agent:\n  settle_time: soon\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:16: agent.settle_time: expected a duration like 90s, 5m, 6h or 7d, got 'soon'");
    }

    @Test
    void badPolicyChangeGraceIsReportedAtItsLine() {
        assertThat(messages("agent:\n  policy_change_grace: later\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:24: agent.policy_change_grace: expected a duration like 90s, 5m, 6h or 7d, "
                        + "got 'later'");
        assertThat(messages("agent:\n  policy_change_grace: -5m\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:24: agent.policy_change_grace: a duration cannot be negative, got '-5m'");
    }

    @Test
    void durationWithoutUnitIsRejected() {
        assertThat(messages("agent:\n  reconcile_interval: 300\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:23: agent.reconcile_interval: missing unit in duration '300' "
                        + "(add one of ms, s, m, h, d)");
    }

    @Test
    void badEnumValueListsTheChoicesAndSuggests() {
        assertThat(messages("roots:\n  - path: /a\n    layout: lightnig\n")).containsExactly(
                "conf/ckpt-warden.yaml:3:13: roots[0].layout: expected one of auto, lightning, huggingface, deepspeed, "
                        + "orbax, dcp, nemo, keras, files; got 'lightnig' (did you mean lightning?)");
        assertThat(messages("roots:\n  - path: /a\n    retention:\n      keep_best: {k: 1, metric: m, mode: lowest}\n"))
                .singleElement().asString().contains("roots[0].retention.keep_best.mode: expected one of min, max; "
                        + "got 'lowest'");
    }

    @Test
    void keepEveryWithBothStepsAndEpochsIsAnError() {
        assertThat(messages("roots:\n  - path: /a\n    retention:\n      keep_every: {steps: 500, epochs: 5}\n"))
                .containsExactly("conf/ckpt-warden.yaml:4:19: roots[0].retention.keep_every: set exactly one of steps "
                        + "or epochs, not both");
        assertThat(messages("roots:\n  - path: /a\n    retention:\n      keep_every: {}\n"))
                .singleElement().asString().endsWith("keep_every: set steps or epochs, like {steps: 5000}");
    }

    @Test
    void keepBestNeedsKAndMetric() {
        assertThat(messages("roots:\n  - path: /a\n    retention:\n      keep_best: {mode: max}\n")).containsExactly(
                "conf/ckpt-warden.yaml:4:18: roots[0].retention.keep_best.k: required key is missing "
                        + "(how many of the best checkpoints to keep)",
                "conf/ckpt-warden.yaml:4:18: roots[0].retention.keep_best.metric: required key is missing "
                        + "(the metric that ranks checkpoints, like val_loss)");
    }

    @Test
    void wrongNumbersAndTypesAreExplained() {
        assertThat(messages("""
                roots:
                  - path: /a
                    retention:
                      keep_last: 0
                  - path: /b
                    retention:
                      keep_last: 2.5
                  - path: /c
                    retention: [keep_last]
                """)).containsExactly(
                "conf/ckpt-warden.yaml:4:18: roots[0].retention.keep_last: must be at least 1, got 0",
                "conf/ckpt-warden.yaml:7:18: roots[1].retention.keep_last: expected a whole number of at least 1, "
                        + "got '2.5'",
                "conf/ckpt-warden.yaml:9:16: roots[2].retention: expected a mapping of retention rules (keep_last, "
                        + "keep_best, keep_every, keep_within), got a list");
    }

    @Test
    void clusterWithoutPostgresRegistryIsAnError() {
        assertThat(messages("agent:\n  cluster: true\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:12: agent.cluster: cluster: true needs a registry shared by every agent: "
                        + "set agent.registry_url to jdbc:postgresql://...");
    }

    @Test
    void clusterLeaseTimeAndRenewalAreSetAndDefaultToThirtyAndTenSeconds() throws Exception {
        String cluster = "agent:\n  registry_url: jdbc:postgresql://db/x\n  cluster: true\n";
        assertThat(ConfigLoader.parse(cluster + "roots:\n  - path: /a\n", FILE, Map.of()).agent())
                .returns(Duration.ofSeconds(30), AgentSettings::leaseTime)
                .returns(Duration.ofSeconds(10), AgentSettings::leaseRenewal);
        assertThat(ConfigLoader.parse(cluster + "  lease_time: 2s\n  lease_renewal: 500ms\nroots:\n  - path: /a\n",
                FILE, Map.of()).agent())
                .returns(Duration.ofSeconds(2), AgentSettings::leaseTime)
                .returns(Duration.ofMillis(500), AgentSettings::leaseRenewal);
    }

    @Test
    void leaseRenewalMustBeWellInsideTheLeaseTime() {
        String cluster = "agent:\n  registry_url: jdbc:postgresql://db/x\n  cluster: true\n";
        assertThat(messages(cluster + "  lease_renewal: 20s\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:4:18: agent.lease_renewal: must be at most half of agent.lease_time (30s), "
                        + "so that one failed renewal does not lose the lease; got 20s");
        assertThat(messages(cluster + "  lease_time: 1s\n  lease_renewal: 100ms\nroots:\n  - path: /a\n"))
                .containsExactly("conf/ckpt-warden.yaml:4:15: agent.lease_time: must be at least 2s, got 1s");
        assertThat(messages(cluster + "  lease_time: soon\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:4:15: agent.lease_time: expected a duration like 90s, 5m, 6h or 7d, got 'soon'");
    }

    @Test
    void leaseSettingsWithoutClusterAreAcceptedAndUnused() throws Exception {
        // A config shared by clustered and single agents loads on both; only the lease timing is checked.
        assertThat(ConfigLoader.parse("agent:\n  lease_time: 1m\n  lease_renewal: 20s\nroots:\n  - path: /a\n",
                FILE, Map.of()).agent().leaseTime()).isEqualTo(Duration.ofMinutes(1));
        assertThat(messages("agent:\n  lease_time: 15s\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:15: agent.lease_time: must be at least twice agent.lease_renewal (10s, the "
                        + "default): set a shorter lease_renewal too; got 15s");
    }

    @Test
    void registryUrlMustBePostgres() {
        assertThat(messages("agent:\n  registry_url: mysql://db/x\n  cluster: true\nroots:\n  - path: /a\n"))
                .containsExactly("conf/ckpt-warden.yaml:2:17: agent.registry_url: expected \"\" (embedded database "
                        + "in state_dir) or a PostgreSQL URL like jdbc:postgresql://db-host/ckpt_warden, got 'mysql://db/x'");
    }

    @Test
    void offloadActionWithoutTargetIsAnError() {
        assertThat(messages("roots:\n  - path: /a\n    retention: {keep_last: 1}\n    action: offload\n"))
                .containsExactly("conf/ckpt-warden.yaml:4:13: roots[0].action: action: offload needs an offload: block "
                        + "with a target, like offload: {target: \"sftp://archive/ckpt\"}");
        assertThat(messages("roots:\n  - path: /a\n    retention: {keep_last: 1}\n    offload: {verify: sha1}\n"))
                .containsExactly(
                        "conf/ckpt-warden.yaml:4:14: roots[0].offload.target: required key is missing "
                                + "(where offloaded checkpoints are copied, like sftp://archive/ckpt)",
                        "conf/ckpt-warden.yaml:4:23: roots[0].offload.verify: expected one of sha256, size; "
                                + "got 'sha1'");
    }

    @Test
    void deletingActionOnAWatchOnlyRootIsAnError() {
        assertThat(messages("roots:\n  - path: /a\n    action: delete\n")).singleElement().asString()
                .startsWith("conf/ckpt-warden.yaml:3:13: roots[0].action: action: delete needs a retention: block;");
    }

    @Test
    void emptyBlocksThatWouldSilentlyDoNothingAreErrors() {
        assertThat(messages("""
                roots:
                  - path: /a
                    retention:
                    quota: {}
                    disk:
                    overrides:
                      - match: "x/**"
                        retention: {}
                """)).containsExactly(
                "conf/ckpt-warden.yaml:3:15: roots[0].retention: is empty; remove retention: for a watch-only root, "
                        + "or set at least one of keep_last, keep_best, keep_every, keep_within",
                "conf/ckpt-warden.yaml:4:12: roots[0].quota: is empty; set max_bytes or run_max_bytes, or remove quota:",
                "conf/ckpt-warden.yaml:5:10: roots[0].disk: is empty; set min_free or min_free_ratio, or remove disk:",
                "conf/ckpt-warden.yaml:8:20: roots[0].overrides[0].retention: is empty; an override must change at "
                        + "least one of keep_last, keep_best, keep_every, keep_within");
    }

    @Test
    void anEmptyOffloadBlockIsAnErrorNotAnOffloadToNowhere() {
        assertThat(messages("""
                roots:
                  - path: /a
                    offload:
                """)).containsExactly(
                "conf/ckpt-warden.yaml:3:13: roots[0].offload: is empty; set target (and optionally verify), or remove offload:");
    }

    @Test
    void overridesOnAWatchOnlyRootAreAnError() {
        assertThat(messages("roots:\n  - path: /a\n    overrides:\n      - {match: \"x/*\", retention: {keep_last: 1}}\n"))
                .singleElement().asString().startsWith("conf/ckpt-warden.yaml:3:5: roots[0].overrides: this root has "
                        + "no retention: and is watch-only");
    }

    @Test
    void invalidGlobIsReported() {
        assertThat(messages("""
                roots:
                  - path: /a
                    retention: {keep_last: 1}
                    overrides:
                      - match: "llada8b/[abc"
                        retention: {keep_last: 5}
                """)).singleElement().asString()
                .startsWith("conf/ckpt-warden.yaml:5:16: roots[0].overrides[0].match: not a valid glob: 'llada8b/[abc'");
    }

    @Test
    void patternsMustHaveBalancedBracesAndAField() {
        assertThat(messages("""
                roots:
                  - path: /a
                    patterns:
                      - "weights.{epoch:02d-{val_loss}.hdf5"
                      - "weights.hdf5"
                      - "ok-{step}.pt"
                      - "model-{epoch.pt"
                """)).containsExactly(
                "conf/ckpt-warden.yaml:4:9: roots[0].patterns[0]: pattern 'weights.{epoch:02d-{val_loss}.hdf5': '{' at "
                        + "character 20 opens a field inside another",
                "conf/ckpt-warden.yaml:5:9: roots[0].patterns[1]: pattern 'weights.hdf5': no {field}; a pattern needs "
                        + "at least one, like {epoch} or {val_loss:.2f}",
                "conf/ckpt-warden.yaml:7:9: roots[0].patterns[3]: pattern 'model-{epoch.pt': '{' at character 7 is "
                        + "never closed");
    }

    @Test
    void nestedRootsNameBoth() {
        assertThat(messages("""
                roots:
                  - path: /data/ckpt
                  - path: /data/ckpt/llada8b
                  - path: /data
                  - path: /other/../data/ckpt/
                """)).containsExactly(
                "conf/ckpt-warden.yaml:3:11: roots[1].path: '/data/ckpt/llada8b' lies inside roots[0] '/data/ckpt' "
                        + "(line 2); roots must not nest, or a checkpoint would belong to two roots",
                "conf/ckpt-warden.yaml:4:11: roots[2].path: '/data' contains roots[0] '/data/ckpt' (line 2); roots must "
                        + "not nest, or a checkpoint would belong to two roots",
                "conf/ckpt-warden.yaml:5:11: roots[3].path: '/other/../data/ckpt/' is the same directory as roots[0] "
                        + "'/data/ckpt' (line 2); roots must not nest, or a checkpoint would belong to two roots");
    }

    @Test
    void nestingIsCheckedAcrossFileUrisAndWithinOneRemoteHostOnly() {
        assertThat(messages("""
                roots:
                  - path: file:///data/ckpt
                  - path: /data/ckpt/run1
                  - path: sftp://archive/ckpt
                  - path: sftp://other/ckpt/run1
                  - path: sftp://archive/ckpt/run1
                  - path: /data/ckpt2
                """)).containsExactly(
                "conf/ckpt-warden.yaml:3:11: roots[1].path: '/data/ckpt/run1' lies inside roots[0] 'file:///data/ckpt' "
                        + "(line 2); roots must not nest, or a checkpoint would belong to two roots",
                "conf/ckpt-warden.yaml:6:11: roots[4].path: 'sftp://archive/ckpt/run1' lies inside roots[2] "
                        + "'sftp://archive/ckpt' (line 4); roots must not nest, or a checkpoint would belong to two roots");
    }

    @Test
    void rootNamesMustBeUnique() {
        assertThat(messages("""
                roots:
                  - name: lab
                    path: /a
                  - name: lab
                    path: /b
                """)).containsExactly("conf/ckpt-warden.yaml:4:11: roots[1].name: root name 'lab' is already used by "
                + "roots[0] (line 2); give each root a distinct name:");
    }

    @Test
    void rootPathsAreChecked() {
        assertThat(messages("""
                roots:
                  - path: http://example.org/ckpt
                  - path: file://data/ckpt
                  - path: ~/ckpt
                  - name: nothing
                """)).containsExactly(
                "conf/ckpt-warden.yaml:2:11: roots[0].path: unsupported scheme 'http' in 'http://example.org/ckpt' "
                        + "(use a local path, file://, sftp:// or s3://)",
                "conf/ckpt-warden.yaml:3:11: roots[1].path: a file:// URI cannot name a host ('data'); for a local path "
                        + "write file:///data/ckpt",
                "conf/ckpt-warden.yaml:4:11: roots[2].path: '~' is not expanded, write the full path instead of '~/ckpt'",
                "conf/ckpt-warden.yaml:5:5: roots[3].path: required key is missing (the directory or URI to watch)");
    }

    @Test
    void listenPortIsChecked() {
        assertThat(messages("agent:\n  listen: localhost:70000\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:11: agent.listen: port must be between 0 and 65535, got 70000 in "
                        + "'localhost:70000'");
        assertThat(messages("agent:\n  listen: 9847\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:11: agent.listen: expected host:port like 127.0.0.1:9847, got '9847'");
    }

    @Test
    void ratioMustLieBetweenZeroAndOne() {
        assertThat(messages("roots:\n  - path: /a\n    disk: {min_free_ratio: 1.5}\n")).containsExactly(
                "conf/ckpt-warden.yaml:3:28: roots[0].disk.min_free_ratio: must be between 0 and 1 (exclusive), "
                        + "like 0.10, got '1.5'");
    }

    @Test
    void syntaxErrorIsReportedAtItsLine() {
        assertThat(messages("""
                agent:
                  listen: 127.0.0.1:9847
                 roots:
                  - path: /a
                """)).singleElement().asString()
                .startsWith("conf/ckpt-warden.yaml:3:2: YAML syntax error: ")
                .contains("check the indentation");
    }

    @Test
    void tabIndentationIsReportedAtTheTab() {
        assertThat(messages("roots:\n  - path: /a\n\tretention: {keep_last: 1}\n")).singleElement().asString()
                .isEqualTo("conf/ckpt-warden.yaml:3:1: YAML syntax error: a tab character cannot indent YAML; use spaces");
    }

    @Test
    void unterminatedFlowListIsASyntaxError() {
        assertThat(errors("roots: [{path: /a}\nagent: {}\n")).singleElement()
                .satisfies(e -> {
                    assertThat(e.line()).isEqualTo(2);
                    assertThat(e.message()).startsWith("YAML syntax error: ");
                });
    }

    @Test
    void everyErrorIsCollectedInOnePassInFileOrder() {
        List<ConfigError> errors = errors("""
                agent:
                  listen: nowhere
                  settle_time: 10 seconds
                  cluster: true
                roots:
                  - path: /data/ckpt
                    layout: pytorch
                    retention:
                      keep_last: 3
                      keep_best: {k: 3, metric: val_loss, mode: min}
                      keep_every: {steps: 5000, epochs: 1}
                    quota: {max_bytes: lots}
                    action: offload
                  - path: /data/ckpt/sub
                    retention: {keep_lst: 2}
                """);

        assertThat(errors).extracting(ConfigError::line, ConfigError::key).containsExactly(
                tuple(2, "agent.listen"),
                tuple(3, "agent.settle_time"),
                tuple(4, "agent.cluster"),
                tuple(7, "roots[0].layout"),
                tuple(11, "roots[0].retention.keep_every"),
                tuple(12, "roots[0].quota.max_bytes"),
                tuple(13, "roots[0].action"),
                tuple(14, "roots[1].path"),
                tuple(15, "roots[1].retention.keep_lst"));
        ConfigException e = exception("agent:\n  listen: nowhere\nroots: []\n", Map.of());
        assertThat(e.getMessage().lines()).hasSize(2);
    }

    @Test
    void emptyFileIsAnError() {
        assertThat(messages("")).containsExactly("conf/ckpt-warden.yaml:1:1: the file is empty: no roots configured");
        assertThat(messages("# nothing yet\n")).containsExactly(
                "conf/ckpt-warden.yaml:1:1: the file is empty: no roots configured");
    }

    @Test
    void fileWithoutRootsIsAnError() {
        assertThat(messages("agent: {listen: 127.0.0.1:1}\n")).containsExactly(
                "conf/ckpt-warden.yaml:1:1: roots: no roots configured: add at least one entry with a path: under roots:");
        assertThat(messages("roots: []\n")).containsExactly(
                "conf/ckpt-warden.yaml:1:8: roots: no roots configured: add at least one entry with a path: under roots:");
    }

    @Test
    void topLevelMustBeAMapping() {
        assertThat(messages("- path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:1:1: expected a mapping with agent: and roots: at the top level, got a list");
    }

    @Test
    void aliasesAndSecondDocumentsAreRejected() {
        assertThat(messages("""
                roots:
                  - path: /a
                    retention: &r {keep_last: 2}
                  - path: /b
                    retention: *r
                ---
                roots: []
                """)).containsExactly(
                "conf/ckpt-warden.yaml:5:16: roots[1].retention: YAML aliases (*r) are not supported; write the value out",
                "conf/ckpt-warden.yaml:7:1: a second YAML document (after '---') is not supported; keep one document "
                        + "per file");
    }

    @Test
    void badEnvironmentValueNamesTheVariable() {
        ConfigException e = exception(ConfigLoaderTest.SPEC_EXAMPLE,
                Map.of("CKPT_WARDEN_LISTEN", "nope", "CKPT_WARDEN_STATE_DIR", "s3://bucket/state"));

        assertThat(e.errors()).extracting(ConfigError::toString).containsExactly(
                "CKPT_WARDEN_LISTEN: (overrides agent.listen) expected host:port like 127.0.0.1:9847, got 'nope'",
                "CKPT_WARDEN_STATE_DIR: (overrides agent.state_dir) must be a local directory, got 's3://bucket/state'");
        assertThat(e.errors().get(0).file()).isNull();
    }

    @Test
    void environmentErrorsComeAfterFileErrors() {
        ConfigException e = exception("agent:\n  listen: bad\nroots:\n  - path: /a\n",
                Map.of("CKPT_WARDEN_LISTEN", "127.0.0.1:70000"));

        assertThat(e.errors()).extracting(ConfigError::key).containsExactly("agent.listen", "CKPT_WARDEN_LISTEN");
    }

    @Test
    void stateDirMayNotStartWithTilde() {
        assertThat(messages("agent: {state_dir: ~/warden}\nroots:\n  - path: /a\n")).containsExactly(
                "conf/ckpt-warden.yaml:1:20: agent.state_dir: '~' is not expanded, write the full path instead of "
                        + "'~/warden'");
    }

    @Test
    void remoteRootsNeedAHostOrBucket() {
        assertThat(messages("roots:\n  - path: s3:///prefix\n  - path: sftp://archive/ckpt\n")).containsExactly(
                "conf/ckpt-warden.yaml:2:11: roots[0].path: 's3:///prefix' names no host (bucket), like s3://bucket/prefix");
    }

    @Test
    void offloadTargetMustBeAUriOrAnAbsolutePath() {
        assertThat(messages("roots:\n  - path: /a\n    retention: {keep_last: 1}\n    offload: {target: archive}\n"))
                .containsExactly("conf/ckpt-warden.yaml:4:23: roots[0].offload.target: expected a URI like "
                        + "sftp://archive/ckpt or an absolute path, got 'archive'");
    }

    @Test
    void offloadTargetSchemeIsOneTheOffloaderCanReach() {
        // check-config accepted any scheme; the offloader refused it at the first eviction
        assertThat(messages("roots:\n  - path: /a\n    retention: {keep_last: 1}\n    offload: {target: \"ftp://archive/ckpt\"}\n"))
                .containsExactly("conf/ckpt-warden.yaml:4:23: roots[0].offload.target: unsupported scheme 'ftp' in "
                        + "'ftp://archive/ckpt' (use sftp://, s3://, file:// or an absolute path)");
    }

    @Test
    void errorWithoutAFileNameStillCarriesItsPosition() {
        ConfigException e;
        try {
            ConfigLoader.parse("roots:\n  - path: /a\n    layot: auto\n", null, Map.of());
            throw new AssertionError("expected a ConfigException");
        } catch (ConfigException thrown) {
            e = thrown;
        }
        assertThat(e.getMessage()).isEqualTo("3:5: roots[0].layot: unknown key (did you mean layout?)");
    }

    @Test
    void aRootAtTheTopOfAFileSystemIsRefused() {
        // A dry run against '/' planned deletions across the whole machine (issue 14).
        assertThat(messages("""
                roots:
                  - path: /
                  - path: file:///
                  - path: /data/..
                  - path: sftp://archive/
                """)).containsExactly(
                "conf/ckpt-warden.yaml:2:11: roots[0].path: '/' is the top of the file system; a root is the directory "
                        + "that holds checkpoints, like /data/checkpoints",
                "conf/ckpt-warden.yaml:3:11: roots[1].path: 'file:///' is the top of the file system; a root is the "
                        + "directory that holds checkpoints, like /data/checkpoints",
                "conf/ckpt-warden.yaml:4:11: roots[2].path: '/data/..' is the top of the file system; a root is the "
                        + "directory that holds checkpoints, like /data/checkpoints",
                "conf/ckpt-warden.yaml:5:11: roots[3].path: 'sftp://archive/' is the top of the file system; a root is "
                        + "the directory that holds checkpoints, like /data/checkpoints");
    }

    @Test
    void aRootThatHoldsTheStateDirOrLiesInsideItIsRefused() {
        assertThat(messages("""
                agent: {state_dir: /srv/warden}
                roots:
                  - path: /srv
                  - path: /srv/warden/ckpt
                  - path: /srv2
                """)).containsExactly(
                "conf/ckpt-warden.yaml:3:11: roots[0].path: '/srv' contains agent.state_dir '/srv/warden'; the "
                        + "registry and audit log must not lie where retention deletes",
                "conf/ckpt-warden.yaml:4:11: roots[1].path: '/srv/warden/ckpt' lies inside agent.state_dir "
                        + "'/srv/warden'; the registry and audit log must not lie where retention deletes",
                "conf/ckpt-warden.yaml:4:11: roots[1].path: '/srv/warden/ckpt' lies inside roots[0] '/srv' (line 3); "
                        + "roots must not nest, or a checkpoint would belong to two roots");
        // The default state_dir counts too, and so does CKPT_WARDEN_STATE_DIR.
        assertThat(messages("roots:\n  - path: /var/lib\n")).containsExactly("conf/ckpt-warden.yaml:2:11: roots[0].path: "
                + "'/var/lib' contains agent.state_dir '/var/lib/ckpt-warden'; the registry and audit log must not lie "
                + "where retention deletes");
        assertThat(exception("roots:\n  - path: /data\n", Map.of("CKPT_WARDEN_STATE_DIR", "/data/state")).errors())
                .extracting(ConfigError::toString).containsExactly("conf/ckpt-warden.yaml:2:11: roots[0].path: '/data' "
                        + "contains agent.state_dir '/data/state'; the registry and audit log must not lie where "
                        + "retention deletes");
    }

    @Test
    void rootsAndStateDirAreComparedWhereSymbolicLinksLead(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data/ckpt"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), data);
        Path top = Files.createSymbolicLink(tmp.resolve("top"), Path.of("/"));
        Path state = Files.createSymbolicLink(tmp.resolve("state"), data.resolve("warden"));
        Files.createDirectories(data.resolve("warden"));
        Files.createDirectories(data.resolve("run1"));

        assertThat(messages("agent: {state_dir: " + tmp.resolve("elsewhere") + "}\nroots:\n  - path: " + data.resolve("run1")
                + "\n  - path: " + link + "\n  - path: " + top + "\n")).containsExactly(
                "conf/ckpt-warden.yaml:4:11: roots[1].path: '" + link + "' contains roots[0] '" + data.resolve("run1")
                        + "' (line 3; through symbolic links: '" + data.toRealPath() + "'); roots must not nest, or a "
                        + "checkpoint would belong to two roots",
                "conf/ckpt-warden.yaml:5:11: roots[2].path: '" + top + "' is the top of the file system (through "
                        + "symbolic links: '/'); a root is the directory that holds checkpoints, like /data/checkpoints");
        assertThat(messages("agent: {state_dir: " + state + "}\nroots:\n  - path: " + link + "\n")).containsExactly(
                "conf/ckpt-warden.yaml:3:11: roots[0].path: '" + link + "' contains agent.state_dir '" + state
                        + "' (through symbolic links: '" + data.toRealPath() + "' and '"
                        + data.resolve("warden").toRealPath() + "'); the registry and audit log must not lie where "
                        + "retention deletes");
    }

    @Test
    void aRegistryUrlWithAPasswordIsRefusedWhereItIsWritten() {
        // The agent refuses it when it opens the registry; check-config must say so first.
        assertThat(messages("""
                agent:
                  registry_url: "jdbc:postgresql://db/ckpt?user=warden&password=hunter2"
                roots:
                  - path: /a
                """)).containsExactly("conf/ckpt-warden.yaml:2:17: agent.registry_url: must not carry a password: put "
                + "it in PGPASSWORD or in ~/.pgpass (or the file PGPASSFILE names)");
        assertThat(messages("agent: {registry_url: \"jdbc:postgresql://db/ckpt?PASSWORD=x\"}\nroots:\n  - path: /a\n"))
                .singleElement().asString().contains("agent.registry_url: must not carry a password");
    }

    @Test
    void remoteUrisWithAPasswordAreRefusedWhereTheyAreWritten() {
        assertThat(messages("""
                roots:
                  - path: sftp://warden:hunter2@archive/ckpt
                  - path: /a
                    retention: {keep_last: 1}
                    offload: {target: "sftp://warden:hunter2@archive/offload"}
                """)).containsExactly(
                "conf/ckpt-warden.yaml:2:11: roots[0].path: 'sftp://warden:***@archive/ckpt' carries a password; "
                        + "passwords are not accepted in URIs: use a key for sftp://, the AWS credential chain for s3://",
                "conf/ckpt-warden.yaml:5:23: roots[1].offload.target: 'sftp://warden:***@archive/offload' carries a "
                        + "password; passwords are not accepted in URIs: use a key for sftp://, the AWS credential "
                        + "chain for s3://");
    }

    @Test
    void aThousandLevelsOfNestingIsOneErrorNamingTheLimit() {
        List<String> deep = messages("roots:\n  - path: " + "[".repeat(1000) + "]".repeat(1000) + "\n");
        assertThat(deep).singleElement().asString().startsWith("conf/ckpt-warden.yaml:2:")
                .contains("nested deeper than " + YamlTreeReader.MAX_DEPTH + " levels");
        List<String> deepMaps = messages("roots:\n  - path: /a\n    name: " + "{a: ".repeat(1000) + "1" + "}".repeat(1000) + "\n");
        assertThat(deepMaps).singleElement().asString().contains("nested deeper than " + YamlTreeReader.MAX_DEPTH + " levels");
    }

    @Test
    void aFileLargerThanTheLimitIsOneError() {
        String huge = "roots:\n  - path: /a\n" + ("# " + "x".repeat(98) + "\n").repeat(YamlTreeReader.MAX_CHARS / 100 + 1);
        assertThat(messages(huge)).singleElement().asString().contains("larger than");
    }

    private static List<String> messages(String yaml) {
        return errors(yaml).stream().map(ConfigError::toString).toList();
    }

    private static List<ConfigError> errors(String yaml) {
        return exception(yaml, Map.of()).errors();
    }

    private static ConfigException exception(String yaml, Map<String, String> env) {
        try {
            Config config = ConfigLoader.parse(yaml, FILE, env);
            return fail("expected a ConfigException, loaded " + config);
        } catch (ConfigException e) {
            return e;
        }
    }
}
