package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sniffing: what a file is depends on its bytes; its name only decides what unrecognised bytes mean. */
class FileProbeTest {

    @TempDir
    Path tmp;

    private Probe probe(String name, String content) throws IOException {
        return FileProbe.probe(Files.writeString(tmp.resolve(name), content, StandardCharsets.UTF_8));
    }

    private Probe probe(String name, byte[] content) throws IOException {
        return FileProbe.probe(Files.write(tmp.resolve(name), content));
    }

    @Test
    void htmlErrorPageSavedAsACheckpointIsNotOne() throws IOException {
        for (String page : new String[] {"<!DOCTYPE html><html><body>404</body></html>",
            "\uFEFF  \n<HTML><head><title>Access Denied</title>", "\n\n<!doctype HTML>\n<html>"}) {
            Probe p = probe("model.pt", page);
            assertThat(p.type()).as(page).isEqualTo(ContentType.HTML);
            assertThat(p.notACheckpoint()).isTrue();
            assertThat(p.notACheckpointReason()).isEqualTo("HTML page, not a checkpoint (a failed download?)");
        }
    }

    @Test
    void lfsPointerIsRecognisedWhateverItsName() throws IOException {
        Probe p = probe("model.safetensors", "version https://git-lfs.github.com/spec/v1\n"
                + "oid sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nsize 4920000000\n");
        assertThat(p.type()).isEqualTo(ContentType.LFS_POINTER);
        assertThat(p.notACheckpointReason()).isEqualTo("Git LFS pointer, content not fetched");
        assertThat(p.intact()).isTrue();
    }

    @Test
    void emptyFileIsAProblemButNotANonCheckpoint() throws IOException {
        Probe p = probe("last.ckpt", new byte[0]);
        assertThat(p.type()).isEqualTo(ContentType.EMPTY);
        assertThat(p.problems()).containsExactly("empty file (0 bytes)");
        assertThat(p.notACheckpoint()).isFalse();
        assertThat(p.notACheckpointReason()).isNull();
    }

    @Test
    void jsonIsParsedToConfirmItIsComplete() throws IOException {
        Probe good = probe("trainer_state.json", "{\"global_step\": 500, \"log_history\": []}\n");
        assertThat(good.type()).isEqualTo(ContentType.JSON);
        assertThat(good.problems()).isEmpty();
        Probe cut = probe("trainer_state.json", "{\"global_step\": 500, \"log_hist");
        assertThat(cut.type()).isEqualTo(ContentType.JSON);
        assertThat(cut.problems()).singleElement().asString().startsWith("JSON does not parse: ").contains("line 1");
        Probe trailing = probe("x.json", "{} {}");
        assertThat(trailing.problems()).hasSize(1);
    }

    @Test
    void plainTextAndDeepspeedLatestTagAreText() throws IOException {
        assertThat(probe("latest", "global_step1000").type()).isEqualTo(ContentType.TEXT);
        assertThat(probe("notes.txt", "naïve café – 学習\n").type()).isEqualTo(ContentType.TEXT);
    }

    @Test
    void zeroFilledCheckpointFromAFailedCopyIsAProblem() throws IOException {
        Probe p = probe("epoch=3-step=1500.ckpt", new byte[10_000]);
        assertThat(p.type()).isEqualTo(ContentType.UNKNOWN);
        assertThat(p.problems()).containsExactly(
                "content of this .ckpt file is neither a zip nor a torch pickle (starts with 00 00 00 00 00 00 00 00)");
        assertThat(p.notACheckpoint()).isFalse();
    }

    @Test
    void unrecognisedBinaryUnderAnUnclaimedNameIsNoVerdict() throws IOException {
        Probe p = probe("ckpt.data-00000-of-00001", new byte[] {1, 2, 3, 0, 0, 9});
        assertThat(p.type()).isEqualTo(ContentType.UNKNOWN);
        assertThat(p.problems()).isEmpty();
    }

    @Test
    void garbageNamedLikeAFormatFailsThatFormatsCheck() throws IOException {
        byte[] junk = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        assertThat(probe("w.h5", junk).problems()).containsExactly("HDF5 signature missing");
        assertThat(probe("w.h5", junk).type()).isEqualTo(ContentType.HDF5);
        assertThat(probe("m.keras", junk).type()).isEqualTo(ContentType.KERAS_ZIP);
        assertThat(probe("m.keras", junk).problems()).containsExactly(ZipCentralDirectory.MISSING);
        assertThat(probe("ckpt.index", junk).problems()).containsExactly("TensorFlow index shorter than its 48-byte footer (13 bytes)");
        assertThat(probe("model.safetensors", junk).type()).isEqualTo(ContentType.SAFETENSORS);
        assertThat(probe("model.safetensors", junk).intact()).isFalse();
    }

    @Test
    void standalonePickleCutShortIsAProblemButAnUnknownOpcodeIsNot() throws IOException {
        byte[] whole = PickleBytes.protocol2().emptyDict().str("state_dict_metadata").emptyDict().setItem().stop();
        assertThat(probe(".metadata", whole).type()).isEqualTo(ContentType.PICKLE);
        assertThat(probe(".metadata", whole).problems()).isEmpty();
        byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 3);
        assertThat(probe(".metadata", cut).problems()).containsExactly("pickle ends before its STOP opcode (file truncated?)");
        byte[] odd = {(byte) 0x80, 4, (byte) 0xfe, '.'};
        assertThat(probe(".metadata", odd).problems()).isEmpty();
    }

    @Test
    void hdf5AfterAUserBlockIsFound() throws IOException {
        byte[] f = new byte[1024 + 96];
        System.arraycopy(Hdf5Superblock.SIGNATURE, 0, f, 512, 8);
        f[512 + 8] = 2; // superblock v2: offsets at 12, 8-byte addresses
        f[512 + 9] = 8;
        f[512 + 10] = 8;
        putLe(f, 512 + 12, 512); // base address
        putLe(f, 512 + 20, -1); // no superblock extension
        putLe(f, 512 + 28, f.length - 512); // end of file, relative to base
        Probe p = probe("weights.h5", f);
        assertThat(p.type()).isEqualTo(ContentType.HDF5);
        assertThat(p.problems()).isEmpty();
        Hdf5Superblock sb = Hdf5Superblock.read(tmp.resolve("weights.h5"));
        assertThat(sb.superblockOffset()).isEqualTo(512);
        assertThat(sb.version()).isEqualTo(2);
        putLe(f, 512 + 28, f.length);
        assertThat(probe("weights.h5", f).problems())
                .containsExactly("HDF5 file shorter than its superblock says: 1120 of 1632 bytes");
    }

    private static void putLe(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    /** The corpus's symlinked last.ckpt points at an absolute Windows path: dangling on Linux. */
    @Test
    void danglingSymlinkIsAnIoErrorNotAVerdict() throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("last.ckpt"),
                Path.of("D:/Lucas/Cursos/DeepONets-Lightning/checkpoints/deeponet-epoch=96-val_loss=2.03e-02.ckpt"));
        assertThatThrownBy(() -> FileProbe.probe(link)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void directoryIsRefusedWithItsPath() {
        assertThatThrownBy(() -> FileProbe.probe(tmp)).isInstanceOf(IOException.class)
                .hasMessage("cannot probe " + tmp + ": not a regular file");
    }

    @Test
    void symlinkToACheckpointIsFollowed() throws IOException {
        Path target = Files.write(tmp.resolve("epoch=1.ckpt"), new byte[0]);
        Path link = Files.createSymbolicLink(tmp.resolve("last.ckpt"), target.getFileName());
        assertThat(FileProbe.probe(link).type()).isEqualTo(ContentType.EMPTY);
    }
}
