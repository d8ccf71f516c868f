package dev.ckptwarden.registry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;


import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Opening the registry on a full disk (issue 14): one clear line that says the disk is full, not
 * SQLite's {@code SQLITE_IOERR_SHMSIZE} and a stack trace. A real 1 MiB tmpfs, filled up.
 */
class SqliteFullDiskTest {
    @TempDir
    Path stateDir;

    private boolean mounted;

    @BeforeEach
    void mountTinyFileSystem() throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", stateDir.toString())
                .redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes());
        mounted = p.waitFor() == 0;
        assumeTrue(mounted, "a tiny tmpfs for state_dir needs mount (root): " + said.strip());
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", stateDir.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void creatingTheRegistryOnAFullDiskSaysTheDiskIsFull() throws IOException {
        fill();

        RegistryException e = catchThrowableOfType(() -> SqliteRegistry.open(stateDir).close(), RegistryException.class);

        assertThat(e).as("creating a registry on a full disk must fail").isNotNull();
        // Was: "cannot commit - no transaction is active" (SQLite had rolled back; the rollback error hid why).
        assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("no transaction is active")
                .containsAnyOf("full", "FULL", "no space");
    }

    private void fill() {
        try (OutputStream out = Files.newOutputStream(stateDir.resolve("filler"))) {
            byte[] block = new byte[4096];
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            // the file system is full now
        }
    }

    @Test
    void openingTheRegistryOnAFullDiskSaysTheDiskIsFull() throws IOException {
        SqliteRegistry.open(stateDir).close(); // an agent ran here before: the database exists
        fill();

        RegistryException e = catchThrowableOfType(() -> SqliteRegistry.open(stateDir).close(), RegistryException.class);

        assertThat(e).as("opening a registry on a full disk must fail").isNotNull();
        assertThat(e.getMessage()).doesNotContain("\n").containsAnyOf("full", "no space");
        assertThat(e.getMessage()).doesNotStartWith("[SQLITE");
    }

    /**
     * Found by the simulation campaign (ENOSPC on state_dir mid-run): SQLite rolls a transaction back itself
     * when a write fails for want of space, and the commit that followed then said only "cannot commit - no
     * transaction is active", with a stack trace in the agent's log, hiding that the disk was full.
     */
    @Test
    void aWriteThatFillsTheDiskWhileTheAgentRunsSaysTheDiskIsFull() throws IOException {
        List<Registered> batch = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            batch.add(Checkpoints.complete("r", "run-" + (i % 20), "epoch=" + i + "-step=" + i + ".ckpt", (long) i));
        }
        try (SqliteRegistry registry = SqliteRegistry.open(stateDir)) {
            registry.upsert(batch.subList(0, 10));
            fill();

            RegistryException e = catchThrowableOfType(() -> registry.upsert(batch), RegistryException.class);

            assertThat(e).as("a write on a full disk must fail").isNotNull();
            assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("no transaction is active")
                    .containsAnyOf("full", "no space");
        }
    }
}
