package dev.ckptwarden.catalog.integrity;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import dev.ckptwarden.fuzz.MemoryFileSource;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/** Coverage-guided fuzzing of the HDF5 superblock reader (Keras .h5/.keras weights): problems, never exceptions. */
@Tag("fuzz")
class Hdf5SuperblockFuzzTest {

    private static final Path FILE = Path.of("/fuzz/model.h5");

    static Stream<byte[]> hdf5() {
        return FuzzSeeds.startingWith(Hdf5Superblock.SIGNATURE);
    }

    @MethodSource("hdf5")
    @FuzzTest(maxDuration = "6s")
    void aCorruptSuperblockIsReportedNotThrown(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            try (PositionalReader in = PositionalReader.open(MemoryFileSource.of(FILE, data), FILE)) {
                Hdf5Superblock.read(in).intact();
            }
        });
    }
}
