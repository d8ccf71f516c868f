package dev.ckptwarden.enforce;

import dev.ckptwarden.testing.MutableClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AuditLogTest {
    @TempDir
    Path state;

    @Test
    void rotatesBySizeWithoutLosingOrSplittingALine() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        int lines = 200;
        try (AuditLog log = AuditLog.open(state, clock, 4096)) {
            for (int i = 0; i < lines; i++) {
                clock.advance(Duration.ofMillis(7));
                log.append(new AuditRecord(null, AuditRecord.BEGIN, "e" + i, "/r/run/epoch=" + i + ".ckpt", "/r", "run", i,
                        "policy", "delete", List.of("evictable: kept by no rule"), null, null));
            }
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(state)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(AuditLog.FILE_NAME)).sorted().toList();
        }
        assertThat(files.size()).isGreaterThan(2);
        List<String> evictions = new ArrayList<>();
        for (Path f : files) {
            assertThat(Files.size(f)).isLessThanOrEqualTo(4096);
            AuditLog.read(f).forEach(r -> evictions.add(r.eviction())); // read() fails on a split line
        }
        assertThat(evictions).hasSize(lines).doesNotHaveDuplicates();
    }

    private static AuditRecord begin(String id) {
        return new AuditRecord(null, AuditRecord.BEGIN, id, "/r/run/" + id + ".ckpt", "/r", "run", 1, "policy", "delete",
                List.of("evictable: kept by no rule"), null, null);
    }

    @Test
    void anAuditLogThatIsASymbolicLinkIsRefusedAndWhatItPointsAtIsNotWritten(@TempDir Path elsewhere) throws Exception {
        Path target = Files.writeString(elsewhere.resolve("passwd"), "root:x:0:0::/root:/bin/sh\n");
        Files.createSymbolicLink(state.resolve(AuditLog.FILE_NAME), target);

        assertThatThrownBy(() -> {
            try (AuditLog log = AuditLog.open(state)) {
                log.append(begin("e1"));
            }
        }).isInstanceOf(java.io.IOException.class).hasMessageContaining(AuditLog.FILE_NAME).hasMessageContaining("symbolic link");

        assertThat(target).hasContent("root:x:0:0::/root:/bin/sh");
    }

    @Test
    void aStateDirectoryOthersCanWriteIsRefused() throws Exception {
        Files.setAttribute(state, "unix:mode", 0777);

        assertThatThrownBy(() -> AuditLog.open(state).close())
                .hasMessageContaining(state.toString()).hasMessageContaining("writable by group or others");
        assertThat(state.resolve(AuditLog.FILE_NAME)).doesNotExist();
    }

    @Test
    void aLastLineCutShortByAFullDiskIsDroppedSoTheNextLinesParse() throws Exception {
        try (AuditLog log = AuditLog.open(state)) {
            log.append(begin("e1"));
        }
        Path file = state.resolve(AuditLog.FILE_NAME);
        Files.writeString(file, "{\"time\":\"2026-01-01T00:00:00Z\",\"phase\":\"beg", java.nio.file.StandardOpenOption.APPEND);

        try (AuditLog log = AuditLog.open(state)) {
            log.append(begin("e2"));
        }

        assertThat(AuditLog.read(file)).extracting(AuditRecord::eviction).containsExactly("e1", "e2");
    }
}
