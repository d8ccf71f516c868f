package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Cataloger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The watcher names the directory of each change, a new directory itself, and never the enforcer's trash. */
class DirectoryWatcherTest {
    @TempDir
    Path tmp;

    private record Change(String root, Path where) {
    }

    @Test
    void changesAreReportedPerDirectoryAndTheTrashIsIgnored() throws Exception {
        Path root = tmp.toRealPath();
        Path run = Files.createDirectories(root.resolve("run"));
        BlockingQueue<Change> heard = new LinkedBlockingQueue<>();
        try (DirectoryWatcher w = new DirectoryWatcher((r, where) -> heard.add(new Change(r, where)))) {
            assertThat(w.watchRoot("data", root)).isEqualTo(2);
            w.start();

            // The trash appears and fills first: nothing may be heard of it, before or after.
            Path trash = Files.createDirectory(root.resolve(Cataloger.TRASH_DIR));
            Files.writeString(trash.resolve("1-1-1.0"), "evicted");
            Files.writeString(run.resolve("epoch=1-step=10.ckpt"), "save");
            await(heard, new Change("data", run));

            Path fresh = Files.createDirectory(root.resolve("run2"));
            await(heard, new Change("data", fresh));
            // The new directory is watched from now on.
            Path inside = Files.createDirectory(fresh.resolve("checkpoint-500"));
            await(heard, new Change("data", inside));
            Files.writeString(inside.resolve("trainer_state.json"), "{}");
            await(heard, new Change("data", inside));

            Files.writeString(trash.resolve("1-1-2.0"), "evicted");
            Files.writeString(run.resolve("epoch=2-step=20.ckpt"), "save");
            await(heard, new Change("data", run));
            assertThat(seen).allSatisfy(c -> assertThat(c.where()).isNotEqualTo(trash).isNotEqualTo(root));
        }
    }

    @Test
    void aTrashInsideARunDirectoryIsNeitherWatchedNorHeard() throws Exception {
        // A run directory that is the mount point of another file system has a trash of its own.
        Path root = tmp.toRealPath();
        Path run = Files.createDirectories(root.resolve("run"));
        Path trash = Files.createDirectory(run.resolve(Cataloger.TRASH_DIR));
        Files.createDirectory(trash.resolve("1-1-1.0"));
        BlockingQueue<Change> heard = new LinkedBlockingQueue<>();
        try (DirectoryWatcher w = new DirectoryWatcher((r, where) -> heard.add(new Change(r, where)))) {
            assertThat(w.watchRoot("data", root)).isEqualTo(2);
            w.start();

            Files.writeString(trash.resolve("1-1-2.0"), "evicted");
            Files.writeString(trash.resolve("1-1-1.0/model.safetensors"), "evicted");
            Path run2 = Files.createDirectory(root.resolve("run2"));
            await(heard, new Change("data", run2));
            Path later = Files.createDirectory(run2.resolve(Cataloger.TRASH_DIR));
            Files.writeString(later.resolve("1-1-3.0"), "evicted");
            Files.writeString(run.resolve("epoch=2-step=20.ckpt"), "save");
            await(heard, new Change("data", run));
            Files.writeString(run2.resolve("epoch=1-step=10.ckpt"), "save");
            await(heard, new Change("data", run2));

            assertThat(seen).allSatisfy(c -> assertThat(c.where().toString()).doesNotContain(Cataloger.TRASH_DIR));
        }
    }

    @Test
    void aRemovedRunDirectoryIsNamedItselfSoTheEventPassDoesNotWalkTheRoot() throws Exception {
        Path root = tmp.toRealPath();
        Path old = Files.createDirectories(root.resolve("old-run"));
        Files.writeString(old.resolve("epoch=1-step=10.ckpt"), "save");
        Path hf = Files.createDirectories(old.resolve("checkpoint-500"));
        Files.writeString(hf.resolve("model.safetensors"), "weights");
        Path other = Files.createDirectories(root.resolve("run"));
        BlockingQueue<Change> heard = new LinkedBlockingQueue<>();
        try (DirectoryWatcher w = new DirectoryWatcher((r, where) -> heard.add(new Change(r, where)))) {
            assertThat(w.watchRoot("data", root)).isEqualTo(4);
            w.start();

            // rm -rf old-run: its contents first, then the directory itself from the root.
            Files.delete(hf.resolve("model.safetensors"));
            Files.delete(hf);
            Files.delete(old.resolve("epoch=1-step=10.ckpt"));
            Files.delete(old);
            await(heard, new Change("data", old));
            // Then a save elsewhere, heard after whatever the removal still had to say.
            Files.writeString(other.resolve("epoch=1-step=10.ckpt"), "save");
            await(heard, new Change("data", other));

            assertThat(seen).as("the root itself was never named: that would be a walk of every run")
                    .allSatisfy(c -> assertThat(c.where()).isNotEqualTo(root));
        }
    }

    private final java.util.List<Change> seen = new java.util.ArrayList<>();

    /**
     * Takes changes until {@code expected} is heard. The kernel and the watcher's thread get at most 30 s: a bound
     * on waiting (heard changes return at once), not the behaviour under test, wide for a loaded 2-core CI machine.
     */
    private void await(BlockingQueue<Change> heard, Change expected) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Change c = heard.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertThat(c).as("heard " + expected + " within 30 s; heard " + seen).isNotNull();
            seen.add(c);
            if (c.equals(expected)) {
                return;
            }
        }
    }
}
