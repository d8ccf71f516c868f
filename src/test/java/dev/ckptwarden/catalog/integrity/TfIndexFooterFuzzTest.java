package dev.ckptwarden.catalog.integrity;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import dev.ckptwarden.fuzz.MemoryFileSource;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/** Coverage-guided fuzzing of the TensorFlow .index footer reader: problems, never exceptions. */
@Tag("fuzz")
class TfIndexFooterFuzzTest {

    private static final Path FILE = Path.of("/fuzz/ckpt-1.index");

    static Stream<byte[]> indexes() {
        return FuzzSeeds.files(p -> p.toString().endsWith(".index"), b -> true);
    }

    @MethodSource("indexes")
    @FuzzTest(maxDuration = "6s")
    void aCorruptIndexFooterIsReportedNotThrown(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            try (PositionalReader in = PositionalReader.open(MemoryFileSource.of(FILE, data), FILE)) {
                TfIndexFooter.hasMagic(in);
                TfIndexFooter.read(in).intact();
            }
        });
    }
}
