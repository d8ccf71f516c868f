package dev.ckptwarden.catalog.layout;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import dev.ckptwarden.fuzz.MemoryFileSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of what the Hugging Face layout reads from {@code trainer_state.json}: step,
 * epoch, metrics and {@code best_model_checkpoint}. A file that does not parse is an IOException (the layout
 * reports "trainer_state.json does not parse"); one that parses must yield a name, never an exception.
 */
@Tag("fuzz")
class TrainerStateFuzzTest {

    private static final Path RUN = Path.of("/fuzz/run");
    private static final Path FILE = RUN.resolve("checkpoint-10").resolve(HuggingFaceLayout.TRAINER_STATE);

    static Stream<byte[]> trainerStates() {
        return FuzzSeeds.files(p -> p.getFileName().toString().equals(HuggingFaceLayout.TRAINER_STATE), b -> true);
    }

    @MethodSource("trainerStates")
    @FuzzTest(maxDuration = "6s")
    void anyTrainerStateIsReadOrReportedAsUnparseable(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            TrainerState state = TrainerState.read(MemoryFileSource.of(FILE, data), FILE);
            HuggingFaceLayout.bestModelCheckpoint(state.bestModelCheckpoint(), RUN);
        }, IOException.class);
    }
}
