package dev.ckptwarden.catalog.integrity;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import dev.ckptwarden.fuzz.MemoryFileSource;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of the whole file probe, as the catalog calls it on every file of a root: the
 * dispatch by magic and extension, legacy torch files (pickle plus storages), zip-format torch files (the
 * pickle read out of the archive), text and JSON. Any bytes under any of the names the probe treats
 * differently must come back as a Probe, never as an exception.
 */
@Tag("fuzz")
class FileProbeFuzzTest {

    /** The names whose extension changes what the probe does with content it does not recognise. */
    private static final List<Path> NAMES = Stream.of("model.pt", "model.safetensors", "model.keras", "ckpt-1.index",
            "model.h5", "notes.txt").map(n -> Path.of("/fuzz", n)).toList();

    static Stream<byte[]> everything() {
        return FuzzSeeds.files(p -> true, b -> true);
    }

    @MethodSource("everything")
    @FuzzTest(maxDuration = "6s")
    void anyFileContentIsProbedWithoutThrowing(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            for (Path name : NAMES) {
                FileProbe.probe(MemoryFileSource.of(name, data), name).intact();
            }
        });
    }
}
