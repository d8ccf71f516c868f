package dev.ckptwarden.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

class OffloadConfigTest {
    private static final Path FILE = Path.of("conf/ckpt-warden.yaml");
    private static final String ROOT = "roots:\n  - path: /a\n    retention: {keep_last: 1}\n    action: offload\n";

    @Test
    void bandwidthAndConcurrencyAreRead() {
        Offload o = load(ROOT + "    offload: {target: \"sftp://archive/ckpt\", max_bandwidth: 200MiB/s, concurrency: 4}\n");
        assertThat(o).isEqualTo(new Offload("sftp://archive/ckpt", "sha256", 200L << 20, 4));
        assertThat(load(ROOT + "    offload: {target: /mnt/archive, max_bandwidth: 1GB}\n").maxBandwidth())
                .as("the /s may be left out").isEqualTo(1_000_000_000L);
    }

    @Test
    void leftOutTheyMeanNoLimitAndTwoFilesAtATime() {
        Offload o = load(ROOT + "    offload: {target: \"s3://bucket/ckpt\"}\n");
        assertThat(o.maxBandwidth()).isNull();
        assertThat(o.concurrency()).isEqualTo(Offload.DEFAULT_CONCURRENCY).isEqualTo(2);
    }

    @Test
    void wrongValuesNameFileLineAndKey() {
        assertThat(messages(ROOT + "    offload: {target: /x, max_bandwidth: fast}\n")).containsExactly(
                "conf/ckpt-warden.yaml:5:42: roots[0].offload.max_bandwidth: expected a rate like 200MiB/s, got 'fast'");
        assertThat(messages(ROOT + "    offload: {target: /x, max_bandwidth: 200M/s}\n")).singleElement().asString()
                .startsWith("conf/ckpt-warden.yaml:5:42: roots[0].offload.max_bandwidth: ambiguous unit 'M'");
        assertThat(messages(ROOT + "    offload: {target: /x, max_bandwidth: 0MiB/s}\n")).containsExactly(
                "conf/ckpt-warden.yaml:5:42: roots[0].offload.max_bandwidth: must be more than 0 bytes per second, "
                        + "got '0MiB/s'");
        assertThat(messages(ROOT + "    offload: {target: /x, concurrency: 0}\n")).containsExactly(
                "conf/ckpt-warden.yaml:5:40: roots[0].offload.concurrency: must be at least 1, got 0");
        assertThat(messages(ROOT + "    offload: {target: /x, concurrency: 100}\n")).containsExactly(
                "conf/ckpt-warden.yaml:5:40: roots[0].offload.concurrency: must be at most 32 (files sent at the same "
                        + "time), got 100");
        assertThat(messages(ROOT + "    offload: {target: /x, max_bandwith: 1MiB/s}\n")).singleElement().asString()
                .contains("roots[0].offload.max_bandwith").contains("max_bandwidth");
    }

    private static Offload load(String yaml) {
        try {
            return ConfigLoader.parse(yaml, FILE, Map.of()).roots().get(0).offload();
        } catch (ConfigException e) {
            return fail("expected a valid configuration: " + e.getMessage());
        }
    }

    private static List<String> messages(String yaml) {
        try {
            Config config = ConfigLoader.parse(yaml, FILE, Map.of());
            return fail("expected a ConfigException, loaded " + config);
        } catch (ConfigException e) {
            return e.errors().stream().map(ConfigError::toString).toList();
        }
    }
}
