package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.config.Offload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code max_bandwidth} and {@code concurrency} against a real SFTP server, with a fake clock for the limit. */
class OffloaderPacingTest {
    private static final long SECOND = 1_000_000_000L;
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;
    SftpTestServer server;
    RemoteFiles remote;
    Path run;

    @BeforeEach
    void start() throws Exception {
        server = SftpTestServer.start(tmp);
        remote = RemoteFiles.open(server.settings());
        run = Files.createDirectories(tmp.resolve("local/run"));
        Path dir = Files.createDirectories(run.resolve("checkpoint-100"));
        Random random = new Random(100);
        for (String name : List.of("a.safetensors", "b.safetensors", "c.safetensors", "optimizer.pt")) {
            byte[] bytes = new byte[MIB];
            random.nextBytes(bytes);
            Files.write(dir.resolve(name), bytes);
        }
    }

    @AfterEach
    void stop() throws Exception {
        remote.close();
        server.close();
    }

    private PathSource source() {
        return new PathSource(run, List.of("checkpoint-100"));
    }

    /** Records what the offloader tells its listener. */
    private static final class Events implements OffloadListener {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());
        volatile Duration took;

        @Override
        public void started(String root) {
            seen.add("started " + root);
        }

        @Override
        public void verified(String root, long bytes, Duration took) {
            seen.add("verified " + root + " " + bytes);
            this.took = took;
        }

        @Override
        public void failed(String root, OffloadException.Kind kind, Duration took) {
            seen.add("failed " + root + " " + kind.id());
            this.took = took;
        }
    }

    @Test
    void maxBandwidthPacesWhatIsSentAndReadBackWithoutSleepingForReal() throws Exception {
        AtomicLong clock = new AtomicLong(7 * SECOND);
        Events events = new Events();
        Offloader offloader = new Offloader(remote, events, clock::get, nanos -> clock.addAndGet(nanos));
        long realStart = System.nanoTime();

        OffloadReceipt r = offloader.copy(new Offload(server.uri("/archive"), "sha256", 2L * MIB, 1), "/data/ckpt",
                "run/checkpoint-100", source());

        assertThat(r.bytes()).isEqualTo(4L * MIB);
        // 4 MiB sent and 4 MiB read back at 2 MiB/s: 4 s of the fake clock, to within one chunk
        assertThat(clock.get() - 7 * SECOND).isBetween(4 * SECOND - SECOND / 2, 4 * SECOND + SECOND / 2);
        assertThat(events.took).isEqualTo(Duration.ofNanos(clock.get() - 7 * SECOND));
        assertThat(events.seen).containsExactly("started /data/ckpt", "verified /data/ckpt " + (4L * MIB));
        assertThat(Duration.ofNanos(System.nanoTime() - realStart)).as("no real waiting").isLessThan(Duration.ofSeconds(4));
        assertThat(server.home.resolve("archive/data/ckpt/run/checkpoint-100/optimizer.pt"))
                .hasSameBinaryContentAs(run.resolve("checkpoint-100/optimizer.pt"));
    }

    @Test
    void verifySizeReadsNothingBackSoOnlyTheSendIsPaced() throws Exception {
        AtomicLong clock = new AtomicLong();
        new Offloader(remote, OffloadListener.NONE, clock::get, nanos -> clock.addAndGet(nanos))
                .copy(new Offload(server.uri("/archive"), "size", 2L * MIB, 1), "r", "run/checkpoint-100", source());
        assertThat(clock.get()).isBetween(2 * SECOND - SECOND / 2, 2 * SECOND + SECOND / 2);
    }

    @Test
    void filesOfOneCheckpointAreSentAtTheSameTimeUpToConcurrency() throws Exception {
        CountDownLatch another = new CountDownLatch(1);
        AtomicBoolean overlapped = new AtomicBoolean();
        PathSource files = source();
        // The first file's first read waits until a second file is opened: only a parallel sender gets past it.
        OffloadSource gated = new OffloadSource() {
            private final AtomicBoolean firstOpened = new AtomicBoolean();

            @Override
            public List<SourceEntry> entries() throws IOException {
                return files.entries();
            }

            @Override
            public InputStream open(String path) throws IOException {
                InputStream in = files.open(path);
                if (firstOpened.compareAndSet(false, true)) {
                    return new FilterInputStream(in) {
                        private boolean waited;

                        @Override
                        public int read(byte[] b, int off, int len) throws IOException {
                            if (!waited) {
                                waited = true;
                                try {
                                    overlapped.set(another.await(20, TimeUnit.SECONDS));
                                } catch (InterruptedException e) {
                                    throw new InterruptedIOException();
                                }
                            }
                            return super.read(b, off, len);
                        }
                    };
                }
                another.countDown();
                return in;
            }
        };
        new Offloader(remote).copy(new Offload(server.uri("/archive"), "sha256", null, 2), "r", "run/checkpoint-100", gated);
        assertThat(overlapped).as("a second file was opened while the first waited").isTrue();
        for (String name : List.of("a.safetensors", "b.safetensors", "c.safetensors", "optimizer.pt")) {
            assertThat(server.home.resolve("archive/r/run/checkpoint-100/" + name))
                    .hasSameBinaryContentAs(run.resolve("checkpoint-100/" + name));
        }
    }

    @Test
    void concurrencyOneSendsFileAfterFile() throws Exception {
        List<Path> order = Collections.synchronizedList(new ArrayList<>());
        server.fault = (session, file, position, data, before) -> order.add(file.getFileName());
        new Offloader(remote).copy(new Offload(server.uri("/archive"), "sha256", null, 1), "r", "run/checkpoint-100",
                source());
        List<Path> runs = new ArrayList<>();
        for (Path p : order) {
            if (runs.isEmpty() || !runs.get(runs.size() - 1).equals(p)) {
                runs.add(p);
            }
        }
        assertThat(runs).as("each file's writes in one stretch").doesNotHaveDuplicates()
                .extracting(Path::toString).contains("a.safetensors", "optimizer.pt");
    }

    @Test
    void oneFailedFileStopsTheOthersAndLeavesNothingOnTheServer() throws Exception {
        server.fault = (session, file, position, data, before) -> {
            if (file.getFileName().toString().equals("b.safetensors") && before > 0) {
                throw new IOException("No space left on device");
            }
        };
        Events events = new Events();
        assertThatThrownBy(() -> new Offloader(remote, events).copy(new Offload(server.uri("/archive"), "sha256", null, 3),
                "r", "run/checkpoint-100", source()))
                .isInstanceOf(OffloadException.class)
                .satisfies(e -> assertThat(((OffloadException) e).kind()).isEqualTo(OffloadException.Kind.WRITE));
        assertThat(events.seen).containsExactly("started r", "failed r write");
        try (Stream<Path> s = Files.walk(server.home)) {
            assertThat(s.filter(p -> Files.isRegularFile(p) || p.getFileName().toString().contains("ckpt-warden")))
                    .as("no partial file, staging directory or manifest").isEmpty();
        }
        assertThat(run.resolve("checkpoint-100/b.safetensors")).hasSize(MIB);
    }
}
