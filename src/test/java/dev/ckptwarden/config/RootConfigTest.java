package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

class RootConfigTest {

    @Test
    void localPathOfAFileUriIsTheDirectoryItNames() {
        assertThat(RootConfig.watchOnly("file:///data/ckpt/../runs/").localPath()).isEqualTo(Path.of("/data/runs"));
    }

    @Test
    void localPathOfARelativeRootIsAbsoluteAgainstTheWorkingDirectory() {
        assertThat(RootConfig.watchOnly("runs/./a").localPath())
                .isEqualTo(Path.of("").toAbsolutePath().resolve("runs/a"));
    }
}
