package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.TreeReader;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.Layout;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.HistoryEvent;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.TinyCheckpoints;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Bad input on disk: an unreadable directory, a directory replaced or removed mid-scan, a file
 * vanishing between listing and inspection, a root that does not exist, names that are not valid
 * UTF-8, FIFOs and sockets with checkpoint names, symbolic-link loops. Each gives a clear problem
 * naming the path, and the scan completes with everything else registered.
 */
class BadInputReconcileTest {
    /** A day after "now": everything written by the test has settled. */
    private static final Clock LATER = Clock.fixed(Instant.now().plus(Duration.ofDays(1)), ZoneOffset.UTC);

    @TempDir
    Path root;
    @TempDir
    Path state;

    private RootScan scan(Clock clock) {
        RootConfig rc = RootConfig.watchOnly(root.toString());
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rc));
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            return new Reconciler(registry, clock).reconcile(config, rc).inHand(); // read before the registry closes
        }
    }

    private RootScan scan() {
        return scan(LATER);
    }

    private Map<String, Registered> present() {
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            return registry.present(root.toString());
        }
    }

    private static List<Path> paths(RootScan scan) {
        List<Path> out = new ArrayList<>();
        for (Registered c : scan.checkpoints()) {
            out.add(c.path());
        }
        return out;
    }

    private static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Test
    void unreadableDirectoryIsReportedByNameAndItsSiblingsAndRegisteredContentSurvive() throws IOException {
        Path beside = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path other = TinyCheckpoints.torchZip(root.resolve("run-b/epoch=1-step=20.ckpt"), 1, 20L, true);
        Path locked = root.resolve("run-a");
        Path inside = TinyCheckpoints.torchZip(locked.resolve("epoch=2-step=30.ckpt"), 2, 30L, true);
        assertThat(paths(scan())).contains(inside);

        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        try {
            Assumptions.assumeFalse(Files.isReadable(locked) || runningAsRoot(),
                    "running as root: permissions are not enforced, chmod 000 cannot make a directory unreadable "
                            + "(the same code path is covered by the look-ahead and PATH_MAX tests)");
            RootScan scan = scan();
            assertThat(scan.reachable()).isTrue();
            assertThat(scan.problems()).anySatisfy(p -> {
                assertThat(p.path()).isEqualTo(locked);
                assertThat(p.message()).isEqualTo("permission denied");
            });
            assertThat(paths(scan)).contains(beside, other);
            // Could not look inside: that is no evidence the checkpoint was deleted.
            assertThat(present()).containsKey(inside.toString());
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void directoryReplacedByAFileBetweenListingAndLookAheadLeavesItsSiblingsCatalogued() throws IOException {
        Path beside = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path run = root.resolve("run-a");
        Path hf = TinyCheckpoints.huggingFace(root.resolve("checkpoint-500"), 500);
        Files.createDirectories(run);
        List<String> reported = new ArrayList<>();
        TreeReader reader = new TreeReader((p, m) -> reported.add(p + ": " + m));
        Listing listing = reader.list(root);

        Files.delete(run);
        Files.writeString(run, "now a file");
        Cataloger.Findings findings = new Cataloger(Layout.AUTO, NameParser.standard()).examine(listing, reader);

        assertThat(findings.candidates()).extracting(Candidate::path).containsExactlyInAnyOrder(beside, hf);
        // Handed back to the walker, which lists it itself and reports the problem against it.
        assertThat(findings.descendInto()).containsExactly(run);
    }

    @Test
    void subdirectoryRemovedBetweenListingAndLookAheadLeavesItsSiblingsCatalogued() throws IOException {
        Path beside = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path rotated = TinyCheckpoints.huggingFace(root.resolve("checkpoint-500"), 500);
        Path kept = TinyCheckpoints.huggingFace(root.resolve("checkpoint-1000"), 1000);
        TreeReader reader = new TreeReader((p, m) -> { });
        Listing listing = reader.list(root);

        // The Trainer's save_total_limit rotation removes an old checkpoint-N/ while the agent looks.
        for (String f : new String[]{"trainer_state.json", "model.safetensors"}) {
            Files.delete(rotated.resolve(f));
        }
        Files.delete(rotated);
        Cataloger.Findings findings = new Cataloger(Layout.AUTO, NameParser.standard()).examine(listing, reader);

        assertThat(findings.candidates()).extracting(Candidate::path).containsExactlyInAnyOrder(beside, kept);
        assertThat(findings.descendInto()).isEmpty();
    }

    @Test
    void checkpointRemovedWhileItsNestedDirectoriesAreReadIsSkippedAndItsSiblingsKept() throws IOException {
        Path beside = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path rotating = TinyCheckpoints.huggingFace(root.resolve("checkpoint-500"), 500);
        Path nested = Files.createDirectories(rotating.resolve("global_step500"));
        TinyCheckpoints.torchZip(nested.resolve("mp_rank_00_model_states.pt"), null, null, false);
        Path kept = TinyCheckpoints.huggingFace(root.resolve("checkpoint-1000"), 1000);
        TreeReader real = new TreeReader((p, m) -> { });
        Listing listing = real.list(root);
        // rm -r of checkpoint-500/ reaches global_step500/ between the look-ahead and the walk inside it:
        // a timing the file system cannot be made to show on demand, so the reader stands in for it.
        dev.ckptwarden.catalog.DirectoryReader racing = dir -> {
            if (dir.equals(nested)) {
                throw new NoSuchFileException(dir.toString());
            }
            return real.list(dir);
        };

        Cataloger.Findings findings = new Cataloger(Layout.AUTO, NameParser.standard()).examine(listing, racing);

        assertThat(findings.candidates()).extracting(Candidate::path).containsExactlyInAnyOrder(beside, kept);
        assertThat(findings.descendInto()).isEmpty();
    }

    @Test
    void subdirectoryRemovedMidScanDoesNotMarkItsSiblingsDeleted() throws IOException {
        // The reconcile-level consequence of the look-ahead above: the whole parent must not read as empty.
        Path beside = TinyCheckpoints.torchZip(root.resolve("run/epoch=0-step=10.ckpt"), 0, 10L, true);
        TinyCheckpoints.huggingFace(root.resolve("run/checkpoint-500"), 500);
        assertThat(scan().checkpoints()).hasSize(2);
        // Rotation between scans: gone dirs are marked deleted, the sibling stays present.
        Path rotated = root.resolve("run/checkpoint-500");
        for (String f : new String[]{"trainer_state.json", "model.safetensors"}) {
            Files.delete(rotated.resolve(f));
        }
        Files.delete(rotated);
        RootScan second = scan();
        assertThat(paths(second)).containsExactly(beside);
        assertThat(second.gone()).isEqualTo(1);
        assertThat(present()).containsOnlyKeys(beside.toString());
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void fifoAndSocketWithCheckpointNamesAreNeverOpenedOrRegistered() throws Exception {
        Path good = TinyCheckpoints.torchZip(root.resolve("run/epoch=0-step=10.ckpt"), 0, 10L, true);
        Path hf = TinyCheckpoints.huggingFace(root.resolve("run/checkpoint-500"), 500);
        Files.delete(hf.resolve("trainer_state.json"));
        mkfifo(root.resolve("run/epoch=1-step=20.ckpt"));
        mkfifo(hf.resolve("trainer_state.json"));
        mkfifo(root.resolve("run/latest"));
        try (ServerSocketChannel socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            socket.bind(UnixDomainSocketAddress.of(root.resolve("run/epoch=2-step=30.pt")));

            RootScan scan = scan();

            assertThat(scan.reachable()).isTrue();
            assertThat(paths(scan)).containsExactlyInAnyOrder(good, hf);
            Registered dir = scan.checkpoints().stream().filter(c -> c.path().equals(hf)).findFirst().orElseThrow();
            // A FIFO where trainer_state.json belongs is not a trainer_state.json: the save is not finished.
            assertThat(dir.state()).isEqualTo(CheckpointState.WRITING);
            assertThat(dir.bytes()).isEqualTo(Files.size(hf.resolve("model.safetensors")));
        }
    }

    @Test
    void fileVanishedBetweenScansIsMarkedDeletedGoneFromDisk() throws IOException {
        Path kept = TinyCheckpoints.torchZip(root.resolve("run/epoch=0-step=10.ckpt"), 0, 10L, true);
        Path vanishing = TinyCheckpoints.torchZip(root.resolve("run/epoch=1-step=20.ckpt"), 1, 20L, true);
        assertThat(paths(scan())).containsExactlyInAnyOrder(kept, vanishing);

        Files.delete(vanishing);
        RootScan second = scan(Clock.offset(LATER, Duration.ofMinutes(5)));

        assertThat(second.gone()).isEqualTo(1);
        assertThat(second.problems()).isEmpty();
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            Registered gone = registry.byPath(vanishing.toString()).orElseThrow();
            assertThat(gone.state()).isEqualTo(CheckpointState.DELETED);
            assertThat(registry.history(vanishing.toString())).extracting(HistoryEvent::event, HistoryEvent::detail)
                    .contains(org.assertj.core.groups.Tuple.tuple("deleted", "gone from disk"));
            assertThat(registry.byPath(kept.toString()).orElseThrow().state()).isEqualTo(CheckpointState.COMPLETE);
        }
    }

    @Test
    void fileVanishedBetweenListingAndInspectionThrowsNoSuchFileSoTheScanDropsIt() throws IOException {
        // The reconciler skips a candidate whose inspector throws NoSuchFileException; any other
        // exception would be reported as "cannot inspect" and keep a stale record alive.
        Path zip = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path st = TinyCheckpoints.safetensors(root.resolve("model.safetensors"));
        Path hf = TinyCheckpoints.huggingFace(root.resolve("checkpoint-500"), 500);
        TreeReader reader = new TreeReader((p, m) -> { });
        List<Candidate> candidates = new Cataloger(Layout.AUTO, NameParser.standard())
                .examine(reader.list(root), reader).candidates();
        assertThat(candidates).extracting(Candidate::path).containsExactlyInAnyOrder(zip, st, hf);

        Files.delete(zip);
        Files.delete(st);
        deleteTree(hf);
        for (Candidate c : candidates) {
            assertThatThrownBy(() -> c.inspector().inspect()).as(c.name()).isInstanceOf(NoSuchFileException.class);
        }
    }

    @Test
    void rootThatDoesNotExistIsUnreachableAndNothingRegisteredUnderItIsMarkedGone() throws IOException {
        Path a = TinyCheckpoints.torchZip(root.resolve("run/epoch=0-step=10.ckpt"), 0, 10L, true);
        Path b = TinyCheckpoints.huggingFace(root.resolve("run/checkpoint-500"), 500);
        assertThat(paths(scan())).containsExactlyInAnyOrder(a, b);

        // The whole tree disappears (an unmounted file system, a removed directory).
        deleteTree(root);
        RootScan scan = scan(Clock.offset(LATER, Duration.ofMinutes(5)));

        assertThat(scan.reachable()).isFalse();
        assertThat(scan.gone()).isZero();
        assertThat(scan.problems()).singleElement().satisfies(p -> {
            assertThat(p.path()).isEqualTo(root);
            assertThat(p.message()).isEqualTo("does not exist");
            assertThat(p.toString()).isEqualTo(root + ": does not exist");
        });
        // A vanished root must never look like "everything deleted".
        assertThat(present()).containsOnlyKeys(a.toString(), b.toString());
        assertThat(present().values()).extracting(Registered::state).containsOnly(CheckpointState.COMPLETE);
    }

    @Test
    void rootThatIsAFileIsUnreachableWithAClearMessage() throws IOException {
        deleteTree(root);
        Files.writeString(root, "not a directory");
        try {
            RootScan scan = scan();
            assertThat(scan.reachable()).isFalse();
            assertThat(scan.problems()).singleElement().satisfies(p -> {
                assertThat(p.path()).isEqualTo(root);
                assertThat(p.message()).isEqualTo("not a directory");
            });
        } finally {
            Files.delete(root);
            Files.createDirectory(root);
        }
    }

    @Test
    void namesThatAreNotValidUtf8AreReportedAndEverythingElseIsRegistered() throws Exception {
        String jnu = System.getProperty("sun.jnu.encoding");
        Assumptions.assumeTrue("UTF-8".equalsIgnoreCase(jnu),
                "file names decode with sun.jnu.encoding=" + jnu + ", not UTF-8: invalid bytes may decode to valid text");
        Path run = root.resolve("run");
        Path good = TinyCheckpoints.torchZip(run.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path goodDeeper = TinyCheckpoints.torchZip(root.resolve("other/epoch=1-step=20.ckpt"), 1, 20L, true);
        // A file and a directory whose names are invalid UTF-8; the directory holds a valid checkpoint.
        shell(run, "cp epoch=0-step=10.ckpt $'\\xff\\xfe.ckpt' && mkdir $'bad\\xfe' && cp epoch=0-step=10.ckpt $'bad\\xfe/epoch=2-step=30.ckpt'");
        try (var s = Files.list(run)) {
            assertThat(s.count()).as("entries created in " + run).isEqualTo(3);
        }

        RootScan scan = scan();

        assertThat(scan.reachable()).isTrue();
        assertThat(paths(scan)).containsExactlyInAnyOrder(good, goodDeeper);
        assertThat(scan.problems()).hasSize(2).allSatisfy(p -> {
            assertThat(p.path().getParent()).isEqualTo(run);
            assertThat(p.message()).isEqualTo("file name is not valid in the platform charset; skipped");
        });
        assertThat(scan.problems()).extracting(p -> p.path().getFileName().toString())
                .containsExactlyInAnyOrder("\uFFFD\uFFFD.ckpt", "bad\uFFFD");
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void symlinkLoopsAndALinkToTheFilesystemRootAreNeverFollowed() throws IOException {
        Path run = root.resolve("run");
        Path good = TinyCheckpoints.torchZip(run.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Files.createSymbolicLink(run.resolve("loop"), Path.of(".."));
        Files.createSymbolicLink(run.resolve("here"), Path.of("."));
        Files.createSymbolicLink(run.resolve("rootfs"), Path.of("/"));
        Files.createSymbolicLink(root.resolve("a"), Path.of("b"));
        Files.createSymbolicLink(root.resolve("b"), Path.of("a"));
        Path hf = TinyCheckpoints.huggingFace(run.resolve("checkpoint-500"), 500);
        Files.createSymbolicLink(hf.resolve("up"), Path.of("../.."));
        Files.createSymbolicLink(hf.resolve("rootfs"), Path.of("/"));

        RootScan scan = scan();

        assertThat(scan.reachable()).isTrue();
        assertThat(scan.problems()).isEmpty();
        assertThat(paths(scan)).containsExactlyInAnyOrder(good, hf);
        // Every entry stat'ed once: the links themselves, nothing behind them.
        assertThat(scan.entries()).isLessThan(20);
        for (Registered c : scan.checkpoints()) {
            assertThat(c.state()).as(c.name()).isEqualTo(CheckpointState.COMPLETE);
        }
    }

    @Test
    void selfLoopingSymlinkWithACheckpointNameIsAnAliasThatResolveNeverReturns() throws IOException {
        Path good = TinyCheckpoints.torchZip(root.resolve("epoch=0-step=10.ckpt"), 0, 10L, true);
        Path self = root.resolve("last.ckpt");
        Files.createSymbolicLink(self, Path.of("last.ckpt"));

        RootScan scan = scan();

        assertThat(paths(scan)).contains(good);
        Registered loop = scan.checkpoints().stream().filter(c -> c.path().equals(self)).findFirst().orElseThrow();
        // Registered as what it is, a link that leads nowhere, and never as a checkpoint to resume from.
        assertThat(loop.aliasOf()).isEqualTo(self);
        assertThat(loop.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(loop.problems()).containsExactly("dangling symlink to last.ckpt");
        assertThat(dev.ckptwarden.registry.Resolver.resolve(scan.checkpoints(), "latest", false, null))
                .map(Registered::path).contains(good);
    }

    @Test
    void directoryCheckpointHoldingASymlinkToABigFileCountsTheLinkNotItsTarget(@TempDir Path outside) throws IOException {
        Path big = outside.resolve("big.bin");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(1L << 30); // sparse: 1 GiB of size, no disk blocks
        }
        Path hf = TinyCheckpoints.huggingFace(root.resolve("run/checkpoint-500"), 500);
        Path link = Files.createSymbolicLink(hf.resolve("pytorch_model.bin"), big);
        long regular = Files.size(hf.resolve("trainer_state.json")) + Files.size(hf.resolve("model.safetensors"));
        long linkSize = Files.readAttributes(link, java.nio.file.attribute.BasicFileAttributes.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).size();

        RootScan scan = scan();

        Registered c = scan.checkpoints().stream().filter(x -> x.path().equals(hf)).findFirst().orElseThrow();
        assertThat(c.bytes()).isBetween(regular, regular + linkSize);
    }

    private static void mkfifo(Path p) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertThat(proc.waitFor()).as("mkfifo " + p).isZero();
    }

    static void shell(Path dir, String script) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("bash", "-c", script).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes());
        assertThat(proc.waitFor()).as(script + "\n" + out).isZero();
    }

    static void deleteTree(Path dir) throws IOException {
        try {
            shell(dir.getParent(), "rm -rf -- '" + dir + "'");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
