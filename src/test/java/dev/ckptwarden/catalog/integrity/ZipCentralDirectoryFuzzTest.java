package dev.ckptwarden.catalog.integrity;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import dev.ckptwarden.fuzz.MemoryFileSource;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of the zip reader (end records, zip64 locator and record, central directory,
 * and entry reads through local headers): corrupt archives come back with problems, or with a
 * ZipException from an entry read, never with another exception or an allocation the bytes do not justify.
 */
@Tag("fuzz")
class ZipCentralDirectoryFuzzTest {

    private static final Path FILE = Path.of("/fuzz/model.pt");

    static Stream<byte[]> zips() {
        return FuzzSeeds.startingWith((byte) 'P', (byte) 'K');
    }

    @MethodSource("zips")
    @FuzzTest(maxDuration = "6s")
    void aCorruptZipIsReportedNotThrown(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            try (PositionalReader in = PositionalReader.open(MemoryFileSource.of(FILE, data), FILE)) {
                ZipCentralDirectory cd = ZipCentralDirectory.read(in);
                int n = 0;
                for (ZipCentralDirectory.Entry e : cd.entries()) {
                    if (n++ == 8) {
                        break;
                    }
                    try {
                        cd.readEntry(in, e, 1 << 20);
                    } catch (ZipException documented) {
                        // "the entry's local header or data is not where the directory says"
                    }
                }
            }
        });
    }
}
