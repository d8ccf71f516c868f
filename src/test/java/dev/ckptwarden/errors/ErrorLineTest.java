package dev.ckptwarden.errors;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The one line every layer prints for a failed file or remote operation. */
class ErrorLineTest {

    @Test
    void aMissingFileAsTheJdkThrowsItSaysDoesNotExistNotTheFileAgain() {
        NoSuchFileException e = catchThrowableOfType(() -> Files.size(Path.of("/nonexistent/ckpt.pt")),
                NoSuchFileException.class);

        assertThat(ErrorLine.reason(e)).isEqualTo("does not exist");
        assertThat(ErrorLine.withFile(e)).isEqualTo("/nonexistent/ckpt.pt: does not exist");
    }

    @Test
    void aDeniedFileSaysPermissionDenied() {
        AccessDeniedException e = new AccessDeniedException("/data/ckpt/run/step=1.ckpt");

        assertThat(ErrorLine.reason(e)).isEqualTo("permission denied");
        assertThat(ErrorLine.withFile(e)).isEqualTo("/data/ckpt/run/step=1.ckpt: permission denied");
    }

    @Test
    void aFileThatIsNoDirectorySaysSo() {
        assertThat(ErrorLine.reason(new NotDirectoryException("/data/ckpt"))).isEqualTo("not a directory");
    }

    @Test
    void theReasonAFileExceptionCarriesIsWhatItSays() {
        FileSystemException e = new FileSystemException("/data/ckpt/run", null, "Read-only file system");

        assertThat(ErrorLine.reason(e)).isEqualTo("Read-only file system");
        assertThat(ErrorLine.withFile(e)).isEqualTo("/data/ckpt/run: Read-only file system");
        // A reason given wins over the words for its type: a remote source says "not a file" this way.
        assertThat(ErrorLine.reason(new NoSuchFileException("/r/x", null, "not a file"))).isEqualTo("not a file");
    }

    @Test
    void aFileExceptionWithoutReasonOrWordsNamesItsTypeAfterTheFile() {
        DirectoryNotEmptyException e = new DirectoryNotEmptyException("/data/ckpt/run");

        assertThat(ErrorLine.withFile(e)).isEqualTo("/data/ckpt/run: DirectoryNotEmptyException");
    }

    @Test
    void aPlainIOExceptionSaysItsMessage() {
        IOException e = new IOException("manifest larger than 16 MiB");

        assertThat(ErrorLine.reason(e)).isEqualTo("manifest larger than 16 MiB");
        assertThat(ErrorLine.withFile(e)).isEqualTo("manifest larger than 16 MiB");
        assertThat(ErrorLine.causes(e)).isEqualTo("manifest larger than 16 MiB");
    }

    @Test
    void anExceptionWithoutMessageNamesItsType() {
        IOException e = new IOException((String) null);

        assertThat(ErrorLine.reason(e)).isEqualTo("IOException");
        assertThat(ErrorLine.withFile(e)).isEqualTo("IOException");
        assertThat(ErrorLine.causes(e)).isEqualTo("IOException");
        assertThat(ErrorLine.causes(new IOException("  ", new IllegalStateException()))).isEqualTo("IOException");
    }

    @Test
    void aWrappedTransportFailureSaysEachLayerOnceOnOneLine() {
        Exception e = new IOException("Could not connect to SFTP server at \"sftp://u@h:22/\".",
                new IllegalStateException("Session.connect failed\n\tat com.jcraft...",
                        new ConnectException("Connection refused")));

        assertThat(ErrorLine.causes(e))
                .isEqualTo("Could not connect to SFTP server at \"sftp://u@h:22/\".: Session.connect failed: Connection refused");
    }

    @Test
    void aCauseWhoseMessageTheWrapperRepeatsIsSaidOnce() {
        Exception e = new IOException("cannot list /ckpt: Connection refused", new ConnectException("Connection refused"));

        assertThat(ErrorLine.causes(e)).isEqualTo("cannot list /ckpt: Connection refused");
    }

    @Test
    void aLongCauseChainIsCutAfterFourMessages() {
        Throwable e = new IOException("e");
        for (String m : new String[] {"d", "c", "b", "a"}) {
            e = new IOException(m + "!", e);
        }

        assertThat(ErrorLine.causes(e)).isEqualTo("a!: b!: c!: d!");
    }
}
