package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of the configuration reader: any text is either a configuration or a
 * ConfigException whose errors are each one line (a user's mistake is one clear line, no stack trace).
 */
@Tag("fuzz")
class ConfigFuzzTest {

    private static final Path FILE = Path.of("ckpt-warden.yaml");

    /** The configurations the project ships: the packaged example, the release's and the class-data one. */
    static Stream<String> shipped() {
        Path base = Path.of(System.getProperty("ckptwarden.basedir", "."));
        return Stream.of("conf/ckpt-warden.yaml", "src/assembly/ckpt-warden.yaml", "src/cds/ckpt-warden.yaml")
                .map(base::resolve).filter(Files::isRegularFile).map(p -> {
                    try {
                        return Files.readString(p, StandardCharsets.UTF_8);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }

    @MethodSource("shipped")
    @FuzzTest(maxDuration = "6s")
    void anyTextIsAConfigurationOrOneLineErrors(String yaml) {
        if (yaml == null) {
            return; // the mutation framework may pass null; a file always reads as some text
        }
        FuzzInvariants.check(yaml.length() * 3, () -> {
            try {
                ConfigLoader.parse(yaml, FILE, Map.of());
            } catch (ConfigException e) {
                for (ConfigError error : e.errors()) {
                    assertThat(error.toString()).as("one line per error").doesNotContain("\n");
                }
                throw e;
            }
        }, ConfigException.class);
    }
}
