package dev.ckptwarden.catalog.integrity;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleException;
import dev.ckptwarden.fuzz.FuzzInvariants;
import dev.ckptwarden.fuzz.FuzzSeeds;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of the pickle interpreter (torch.save's data.pkl and legacy torch files) and of
 * what the catalog reads out of its result: a hostile pickle must end in a PickleException, never in another
 * exception, a hang or an allocation out of proportion to its size.
 */
@Tag("fuzz")
class PickleReaderFuzzTest {

    /** The data.pkl of every small zip-format torch file and every legacy (bare pickle) torch file in the corpus. */
    static Stream<byte[]> pickles() {
        return FuzzSeeds.files(p -> true, b -> true).flatMap(b -> {
            if (FuzzSeeds.startsWith(b, (byte) 0x80)) {
                return Stream.of(b);
            }
            if (FuzzSeeds.startsWith(b, (byte) 'P', (byte) 'K', (byte) 3, (byte) 4)) {
                return dataPkl(b);
            }
            return Stream.empty();
        });
    }

    private static Stream<byte[]> dataPkl(byte[] zip) {
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.getName().endsWith("/data.pkl")) {
                    return Stream.of(in.readAllBytes());
                }
            }
            return Stream.empty();
        } catch (IOException e) {
            return Stream.empty(); // not every PK file in the corpus is a readable zip (truncated negatives)
        } catch (UncheckedIOException e) {
            return Stream.empty();
        }
    }

    @MethodSource("pickles")
    @FuzzTest(maxDuration = "6s")
    void aHostilePickleIsRefusedAsAPickleErrorOnly(byte[] data) {
        FuzzInvariants.check(data.length, () -> {
            PickleReader r = new PickleReader(data);
            Object root = r.next();
            TorchMetadata.fromPickle(root, List.of());
            r.persistentIds();
        }, PickleException.class);
    }
}
