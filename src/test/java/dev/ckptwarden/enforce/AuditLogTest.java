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
}
