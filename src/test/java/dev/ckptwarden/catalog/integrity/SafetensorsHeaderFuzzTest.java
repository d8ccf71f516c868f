package dev.ckptwarden.catalog.integrity;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import dev.ckptwarden.fuzz.MemoryFileSource;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/** Coverage-guided fuzzing of the safetensors header reader: corrupt headers come back as problems. */
@Tag("fuzz")
class SafetensorsHeaderFuzzTest {

    private static final Path FILE = Path.of("/fuzz/model.safetensors");

    static Stream<byte[]> safetensors() {
        return FuzzSeeds.files(p -> p.toString().endsWith(".safetensors"), b -> SafetensorsHeader.looksLike(b));
    }

    @MethodSource("safetensors")
    @FuzzTest(maxDuration = "6s")
    void aCorruptSafetensorsHeaderIsReportedNotThrown(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            SafetensorsHeader h = SafetensorsHeader.read(MemoryFileSource.of(FILE, data), FILE);
            h.intact();
            h.expectedFileLength();
            h.tensorNames();
        });
    }
}
