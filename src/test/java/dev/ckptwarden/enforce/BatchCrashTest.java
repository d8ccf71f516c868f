package dev.ckptwarden.enforce;

import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kills (SIGKILL) a real enforcing process at exact points of a batch of the deletion protocol, the second
 * of several batches of {@value #BATCH}: after its begin lines and manifest are durable and before any move;
 * part-way through its moves; after its moves and before its end lines; and after its end lines, while the
 * batch before may still be purged on another thread. At every point it reaches, the child's audit log must
 * be on disk up to its last line (the begin lines are forced before anything moves, the end lines before
 * the purge) and each renamed checkpoint named by a manifest in the trash. After a restart
 * ({@link Enforcer#recover}): each checkpoint whole in place or wholly gone, the pinned ones untouched, the
 * registry saying deleted exactly for what is gone, every gone one with one {@code ok} end line, no
 * eviction ended twice, the trash empty.
 */
class BatchCrashTest {
    private static final int BATCH = 5;
    private static final int CHECKPOINTS = 16;

    @TempDir
    Path tmp;

    /** Each planted checkpoint's path with its file's size and mtime, in the child's eviction order. */
    private Map<String, String> planted;
    private Set<String> pinned;
    private final List<String> order = new ArrayList<>();
    private final List<String> renamedInKilledBatch = new ArrayList<>();

    @Test
    void killedAfterTheBatchsBeginIsDurableBeforeAnyMoveLeavesThatBatchWholeInPlace() throws Exception {
        Path root = run(step -> step.point("BEGINS_DURABLE") && step.batch() == 2);
        Site site = verify(root);
        try (site) {
            assertThat(goneOf(root)).as("gone after a kill before batch 2 moved").containsExactlyInAnyOrderElementsOf(
                    evictable(batch(1)));
            for (AuditRecord end : ends(site)) {
                if (batch(2).contains(end.path())) {
                    assertThat(end.outcome()).as(end.path()).isEqualTo("skipped:interrupted before rename");
                }
            }
        }
    }

    @Test
    void killedMidBatchFinishesWhatMovedAndLeavesTheRestWhole() throws Exception {
        Path root = run(step -> step.renamed() && step.batch() == 2 && step.renamesInBatch() == 2);
        try (Site site = verify(root)) {
            List<String> expected = new ArrayList<>(evictable(batch(1)));
            expected.addAll(renamedInKilledBatch);
            assertThat(renamedInKilledBatch).hasSize(2);
            assertThat(goneOf(root)).as("gone after a kill after two renames of batch 2")
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
    }

    @Test
    void killedBetweenTheMovesAndTheEndLinesRecordsTheBatchAtRestart() throws Exception {
        Path root = run(step -> step.point("MOVED") && step.batch() == 2);
        try (Site site = verify(root)) {
            List<String> expected = new ArrayList<>(evictable(batch(1)));
            expected.addAll(evictable(batch(2)));
            assertThat(goneOf(root)).as("gone after a kill before batch 2's end lines")
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
    }

    @Test
    void killedAfterTheEndLinesWhileTheBatchBeforeMayBePurgedEndsNothingTwice() throws Exception {
        Path root = run(step -> step.point("ENDS_DURABLE") && step.batch() == 2);
        try (Site site = verify(root)) {
            List<String> expected = new ArrayList<>(evictable(batch(1)));
            expected.addAll(evictable(batch(2)));
            assertThat(goneOf(root)).as("gone after a kill after batch 2's end lines")
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
    }

    /** One step the child stopped at: a batch point or a rename; batches counted from 1. */
    private record Step(String kind, int batch, int renamesInBatch) {
        boolean point(String name) {
            return kind.equals(name);
        }

        boolean renamed() {
            return kind.equals("renamed");
        }
    }

    private List<String> batch(int b) {
        return order.subList((b - 1) * BATCH, Math.min(order.size(), b * BATCH));
    }

    private List<String> evictable(List<String> paths) {
        return paths.stream().filter(p -> !pinned.contains(p)).toList();
    }

    /** Plants the root, starts the child, and kills it at the first step {@code killAt} accepts. */
    private Path run(Predicate<Step> killAt) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root")).toRealPath();
        Path state = tmp.resolve("state");
        plant(root, state);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path err = tmp.resolve("child.err");
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                BatchCrashChild.class.getName(), root.toString(), state.toString(), String.valueOf(BATCH));
        pb.redirectError(err.toFile());
        Process child = pb.start();
        boolean killed = false;
        try (OutputStream go = child.getOutputStream();
             BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            int batch = 0;
            List<String> renamedThisBatch = new ArrayList<>();
            for (String line = out.readLine(); line != null && !killed; line = out.readLine()) {
                String[] w = line.split(" ");
                if (w[0].equals("evict")) {
                    order.add(line.substring("evict ".length()));
                    continue;
                }
                if (!w[0].equals("point") && !w[0].equals("renamed")) {
                    continue;
                }
                long durable = Long.parseLong(w[w.length - 1].substring("durable=".length()));
                String kind = w[0].equals("point") ? w[1] : "renamed";
                if (kind.equals("BEGINS_DURABLE")) {
                    batch++;
                    renamedThisBatch.clear();
                }
                if (kind.equals("renamed")) {
                    String ckpt = line.substring("renamed ".length(), line.lastIndexOf(" durable="));
                    renamedThisBatch.add(ckpt);
                    assertThat(manifestsInTrash(root)).as("a manifest in the trash names " + ckpt + " before it moves")
                            .contains("\"path\":\"" + ckpt + "\"");
                }
                // Every line the child wrote before it stopped here is on disk: the begin lines before any move,
                // the end lines before the purge.
                assertThat(Files.size(state.resolve(AuditLog.FILE_NAME))).as("audit log bytes at '" + line + "' vs forced")
                        .isLessThanOrEqualTo(durable);
                if (killAt.test(new Step(kind, batch, renamedThisBatch.size()))) {
                    renamedInKilledBatch.addAll(renamedThisBatch);
                    killed = true;
                    // Killed while it waits here: before its stdin closes, which would let it go on.
                    child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                    break;
                }
                go.write('\n');
                go.flush();
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertThat(killed).as("child reached the kill point (stderr: " + Files.readString(err) + ")").isTrue();
        return root;
    }

    /** {@value #CHECKPOINTS} Lightning checkpoints in one run, two of them pinned. */
    private void plant(Path root, Path state) throws IOException {
        Path run = Files.createDirectories(root.resolve("exp/run0"));
        for (int i = 1; i <= CHECKPOINTS; i++) {
            TreeBuilder.lightningCkpt(run.resolve("epoch=" + i + "-step=" + i * 100 + ".ckpt"), i, i * 100L, true,
                    Site.T0.plusSeconds(i));
        }
        planted = new LinkedHashMap<>();
        try (Site site = new Site(root, state)) {
            site.reconcile();
            List<Registered> all = site.registry.list(null, null, false);
            assertThat(all).hasSize(CHECKPOINTS);
            site.registry.pin(all.get(3).key(), true, "batch crash test");
            site.registry.pin(all.get(7).key(), true, "batch crash test");
            pinned = Set.of(all.get(3).key(), all.get(7).key());
            for (Registered c : all) {
                planted.put(c.key(), fileShape(c.path()));
            }
        }
    }

    private static String fileShape(Path p) throws IOException {
        return Files.exists(p) ? Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis() : null;
    }

    /** The paths (as the registry keys them) of planted checkpoints no longer on disk. */
    private List<String> goneOf(Path root) throws IOException {
        List<String> gone = new ArrayList<>();
        for (String key : planted.keySet()) {
            if (fileShape(root.resolve(key)) == null) {
                gone.add(key);
            }
        }
        return gone;
    }

    private static String manifestsInTrash(Path root) throws IOException {
        Path trash = root.resolve(TrashBin.DIR_NAME);
        StringBuilder all = new StringBuilder();
        try (Stream<Path> s = Files.list(trash)) {
            for (Path m : s.filter(p -> p.getFileName().toString().endsWith(TrashBin.MANIFEST_SUFFIX)).toList()) {
                all.append(Files.readString(m));
            }
        }
        return all.toString();
    }

    private static List<AuditRecord> ends(Site site) throws IOException {
        return site.auditLines().stream().filter(a -> a.phase().equals(AuditRecord.END)).toList();
    }

    /** Restarts (recover) and checks the invariants every kill point shares; the caller closes the site. */
    private Site verify(Path root) throws IOException {
        Site site = new Site(root, tmp.resolve("state"));
        EnforcementReport recovery = site.enforcer().recover(site.rootConfig, root, site.clock.instant());
        assertThat(recovery.problems()).as("recovery problems").isEmpty();
        try (Stream<Path> s = Files.list(root.resolve(TrashBin.DIR_NAME))) {
            assertThat(s.map(p -> p.getFileName().toString())).as("trash after recovery").containsOnly(TrashBin.LOCK_NAME);
        }
        List<AuditRecord> lines = site.auditLines();
        Map<String, Long> endsPer = lines.stream().filter(a -> a.phase().equals(AuditRecord.END))
                .collect(Collectors.groupingBy(AuditRecord::eviction, Collectors.counting()));
        assertThat(endsPer).as("end lines per eviction").allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1L));
        Map<String, AuditRecord> okEnd = new HashMap<>();
        lines.stream().filter(a -> a.phase().equals(AuditRecord.END) && a.outcome().equals("ok"))
                .forEach(a -> okEnd.put(a.path(), a));
        for (Map.Entry<String, String> e : planted.entrySet()) {
            String now = fileShape(root.resolve(e.getKey()));
            CheckpointState state = site.registered(root.resolve(e.getKey())).state();
            if (now == null) {
                assertThat(pinned).as("pinned checkpoint removed").doesNotContain(e.getKey());
                assertThat(state).as("registry state of removed " + e.getKey()).isEqualTo(CheckpointState.DELETED);
                assertThat(okEnd).as("an ok end line for removed " + e.getKey()).containsKey(e.getKey());
            } else {
                assertThat(now).as(e.getKey() + " whole").isEqualTo(e.getValue());
                assertThat(state).as("registry state of present " + e.getKey()).isNotEqualTo(CheckpointState.DELETED);
                assertThat(okEnd).as("no ok end line for present " + e.getKey()).doesNotContainKey(e.getKey());
            }
        }
        return site;
    }
}
