package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kills an enforcing process with SIGKILL at random points, 20 times, and checks what a restart
 * ({@link Enforcer#recover}) leaves: every checkpoint whole where it was or wholly gone, nothing
 * half-deleted outside the trash, no protected checkpoint touched, the registry saying deleted
 * exactly for what is gone. The seed is printed; rerun one with {@code -Dckptwarden.crash.seed=N}, or take a
 * random one with {@code -Dckptwarden.crash.seed=random}.
 */
class EnforcerCrashTest {
    private static final int ROUNDS = 20;
    /** The seed of the suite's run (any number; rounds are chosen from it). */
    private static final long DEFAULT_SEED = 20261207L;

    @TempDir
    Path tmp;

    /** What one round's tree held before the child ran. */
    private record Planted(Map<String, Map<String, String>> checkpoints, Set<String> protectedOnes,
                           Map<String, String> rootShape, Map<String, String> outside) {
    }

    @Test
    void killedMidEnforcementLeavesEveryCheckpointWholeOrGone() throws Exception {
        long seed = seed();
        System.out.println("EnforcerCrashTest seed: " + seed + " (rerun with -Dckptwarden.crash.seed=" + seed + ")");
        Random rnd = new Random(seed);
        int interrupted = 0;
        int removedTotal = 0;
        long started = System.nanoTime();
        for (int round = 0; round < ROUNDS; round++) {
            Path base = Files.createDirectories(tmp.resolve("round-" + round));
            Path rootDir = Files.createDirectories(base.resolve("root"));
            Path state = base.resolve("state");
            Path outside = Files.createDirectories(base.resolve("outside"));
            Planted planted = plant(rootDir.toRealPath(), state, outside, rnd);

            // Round 0 is always killed exactly after its first few renames, so every seed has a round killed part-way
            // through (the assertion at the end) whatever the machine's speed; the timed rounds depend on it.
            boolean byRenames = round == 0 || rnd.nextBoolean();
            int renamesBeforeKill = round == 0 ? 1 + rnd.nextInt(8) : rnd.nextInt(40);
            // Half the timed kills fall in the first 20 ms of the pass: its first start of the manifest key and the
            // trash (an agent killed there left an empty trash.key that refused every later start).
            long delayMillis = rnd.nextBoolean() ? rnd.nextInt(20) : rnd.nextInt(201);
            String how = byRenames ? "after " + renamesBeforeKill + " renames" : "after " + delayMillis + " ms";
            boolean finished = runAndKill(rootDir, state, base.resolve("child.err"), byRenames, renamesBeforeKill,
                    delayMillis);

            int gone = verifyAfterRestart(rootDir.toRealPath(), state, outside, planted, "round " + round + " (seed "
                    + seed + ", killed " + how + ")");
            removedTotal += gone;
            if (!finished && gone > 0 && gone < planted.checkpoints().size() - planted.protectedOnes().size()) {
                interrupted++;
            }
        }
        System.out.printf("EnforcerCrashTest: %d rounds, %d killed part-way through, %d checkpoints removed, %.1f s%n",
                ROUNDS, interrupted, removedTotal, (System.nanoTime() - started) / 1e9);
        assertThat(interrupted).as("rounds killed part-way through the evictions").isPositive();
    }

    /**
     * {@code -Dckptwarden.crash.seed=N} replays one seed, {@code random} takes a new one (campaigns); the suite
     * uses one fixed seed, so a build never fails on kill points it did not choose. Kills timed in milliseconds
     * still land differently on a slower machine: any of them failing is a real bug, reported with the seed.
     */
    private static long seed() {
        String given = System.getProperty("ckptwarden.crash.seed", "").strip();
        if (given.isEmpty()) {
            return DEFAULT_SEED;
        }
        return given.equals("random") ? System.nanoTime() : Long.parseLong(given);
    }

    /**
     * 30 checkpoints in three runs: per run 6 Lightning files, 3 Hugging Face directories (one with a
     * nested directory) and one sharded safetensors set; 4 of them pinned; plus protected extras
     * (a writing file, a corrupt file, a link to a file outside the root).
     */
    private static Planted plant(Path root, Path state, Path outside, Random rnd) throws IOException {
        for (int run = 0; run < 3; run++) {
            Path runDir = Files.createDirectories(root.resolve("exp/run" + run));
            for (int i = 1; i <= 6; i++) {
                TreeBuilder.lightningCkpt(runDir.resolve("epoch=" + i + "-step=" + i * 100 + ".ckpt"), i, i * 100L, true,
                        Site.T0.plusSeconds(i));
            }
            for (int s = 1; s <= 3; s++) {
                Path hf = TreeBuilder.hfCheckpoint(runDir, s * 500L, true, true, Site.T0);
                if (s == 2) {
                    Path nested = Files.createDirectories(hf.resolve("global_step" + s * 500));
                    Files.writeString(nested.resolve("zero_pp_rank_0_mp_rank_00_optim_states.pt"), "x".repeat(300));
                    Trees.touch(nested.resolve("zero_pp_rank_0_mp_rank_00_optim_states.pt"), Site.T0);
                    Trees.touch(nested, Site.T0);
                    Trees.touch(hf, Site.T0);
                }
            }
            Trees.shardedSafetensors(runDir.resolve("export"), "model", 2, Site.T0);
        }
        Path precious = TreeBuilder.lightningCkpt(outside.resolve("precious.ckpt"), 9, 900, true, Site.T0);
        Trees.link(root.resolve("exp/run0/epoch=9-step=900.ckpt"), precious, Site.T0);
        Path broken = TreeBuilder.lightningCkpt(root.resolve("exp/run1/epoch=7-step=700.ckpt"), 7, 700, true, Site.T0);
        try (var ch = Files.newByteChannel(broken, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(broken) / 2);
        }
        Trees.touch(broken, Site.T0);

        Map<String, Map<String, String>> checkpoints = new LinkedHashMap<>();
        Set<String> protectedOnes = new HashSet<>();
        try (Site site = new Site(root, state)) {
            TreeBuilder.lightningCkpt(root.resolve("exp/run2/epoch=8-step=800.ckpt"), 8, 800, true, site.clock.instant());
            site.reconcile();
            List<Registered> all = site.registry.list(null, null, false);
            List<Registered> pinnable = all.stream().filter(Registered::isComplete)
                    .filter(c -> !Files.isSymbolicLink(c.path())).toList();
            Set<Integer> pins = new HashSet<>();
            while (pins.size() < 4) {
                pins.add(rnd.nextInt(pinnable.size()));
            }
            for (int i : pins) {
                site.registry.pin(pinnable.get(i).key(), true, "crash test");
            }
            for (Registered c : site.registry.list(null, null, false)) {
                checkpoints.put(c.key(), filesOf(root, c));
                if (c.pinned() || c.state() != CheckpointState.COMPLETE || Files.isSymbolicLink(c.path())) {
                    protectedOnes.add(c.key());
                }
            }
        }
        assertThat(checkpoints.size() - 3).as("checkpoints planted besides the 3 protected extras").isEqualTo(30);
        assertThat(protectedOnes).hasSizeGreaterThanOrEqualTo(7);
        return new Planted(checkpoints, protectedOnes, shape(root), Trees.listing(outside));
    }

    /** A checkpoint's files as they are now (relative to the root), empty when it is wholly gone. */
    private static Map<String, String> filesOf(Path root, Registered c) throws IOException {
        Map<String, String> out = new TreeMap<>();
        List<Path> paths = new ArrayList<>();
        if (c.members().isEmpty()) {
            paths.add(c.path());
        } else {
            Path runDir = root.resolve(c.run());
            c.members().forEach(m -> paths.add(runDir.resolve(m)));
        }
        for (Path p : paths) {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            if (c.kind() == CheckpointKind.DIRECTORY) {
                shape(p).forEach((k, v) -> out.put(root.relativize(p) + "/" + (k.equals("/") ? "" : k), v));
            } else {
                out.put(root.relativize(p).toString(), Files.isSymbolicLink(p) ? "link -> " + Files.readSymbolicLink(p)
                        : "file " + Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis());
            }
        }
        return out;
    }

    /** {@link Trees#listing} with directories' mtimes left out (renames beside them change those). */
    private static Map<String, String> shape(Path dir) throws IOException {
        Map<String, String> out = Trees.listing(dir);
        out.replaceAll((k, v) -> v.startsWith("dir ") ? "dir" : v);
        return out;
    }

    /**
     * Starts the child and kills it with SIGKILL at the chosen point: right after its
     * {@code renames}-th rename into the trash (it waits there for the go-ahead, so the point is
     * exact, mid-way through a multi-file move included), or {@code delayMillis} after it started
     * enforcing. True when it finished before the kill.
     */
    private static boolean runAndKill(Path root, Path state, Path errFile, boolean byRenames, int renames,
                                      long delayMillis) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), CrashChild.class.getName(), root.toString(), state.toString()));
        if (byRenames) {
            cmd.add("--step");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(errFile.toFile());
        Process child = pb.start();
        boolean finished = false;
        try (var go = child.getOutputStream();
             BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            int seen = 0;
            boolean ready = false;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("ready")) {
                    ready = true;
                    if (!byRenames) {
                        finished = child.waitFor(delayMillis, TimeUnit.MILLISECONDS);
                        break;
                    }
                    if (renames == 0) {
                        break;
                    }
                } else if (line.startsWith("renamed")) {
                    if (++seen >= renames) {
                        break; // the child waits right after this rename: killed exactly there
                    }
                    go.write('\n');
                    go.flush();
                } else if (line.startsWith("done")) {
                    finished = true;
                    break;
                }
            }
            assertThat(ready).as("child started (stderr in " + errFile + ": " + tail(errFile) + ")").isTrue();
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        } finally {
            child.destroyForcibly();
        }
        return finished;
    }

    private static String tail(Path f) throws IOException {
        String s = Files.exists(f) ? Files.readString(f) : "";
        return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    }

    /** Restarts (recover), then checks every invariant; returns how many checkpoints are gone. */
    private static int verifyAfterRestart(Path root, Path state, Path outside, Planted planted, String round)
            throws IOException {
        try (Site site = new Site(root, state)) {
            EnforcementReport recovery = site.enforcer().recover(site.rootConfig, root, site.clock.instant());
            assertThat(recovery.problems()).as(round + ": recovery problems").isEmpty();

            int gone = 0;
            Map<String, String> expectedShape = new TreeMap<>(planted.rootShape());
            for (Map.Entry<String, Map<String, String>> e : planted.checkpoints().entrySet()) {
                Registered row = site.registered(Path.of(e.getKey()));
                Map<String, String> now = filesOf(root, row);
                if (now.isEmpty()) {
                    gone++;
                    e.getValue().keySet().forEach(expectedShape::remove);
                    assertThat(planted.protectedOnes()).as(round + ": protected checkpoint removed").doesNotContain(e.getKey());
                    assertThat(row.state()).as(round + ": registry state of removed " + e.getKey())
                            .isEqualTo(CheckpointState.DELETED);
                } else {
                    assertThat(now).as(round + ": " + e.getKey() + " must be whole or gone").isEqualTo(e.getValue());
                    assertThat(row.state()).as(round + ": registry state of present " + e.getKey()).isNotEqualTo(
                            CheckpointState.DELETED);
                }
            }
            Map<String, String> actual = shape(root);
            actual.keySet().removeIf(k -> k.startsWith(TrashBin.DIR_NAME));
            assertThat(actual).as(round + ": tree outside the trash").isEqualTo(expectedShape);
            // A kill before the first eviction may come before the trash directory was ever created.
            if (Files.isDirectory(root.resolve(TrashBin.DIR_NAME))) {
                try (var s = Files.list(root.resolve(TrashBin.DIR_NAME))) {
                    assertThat(s.map(p -> p.getFileName().toString())).as(round + ": trash after recovery")
                            .containsOnly(TrashBin.LOCK_NAME);
                }
            }
            assertThat(Trees.listing(outside)).as(round + ": outside the root").isEqualTo(planted.outside());

            Map<String, Integer> ends = new HashMap<>();
            List<AuditRecord> lines = site.auditLines();
            lines.stream().filter(a -> a.phase().equals(AuditRecord.END)).forEach(a -> ends.merge(a.eviction(), 1, Integer::sum));
            assertThat(ends).as(round + ": end lines per eviction").allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1));
            for (AuditRecord begin : lines) {
                if (begin.phase().equals(AuditRecord.BEGIN) && !ends.containsKey(begin.eviction())) {
                    // Killed between the begin line and its manifest: nothing can have moved.
                    assertThat(filesOf(root, site.registered(Path.of(begin.path()))))
                            .as(round + ": checkpoint of an unfinished audit begin").isEqualTo(
                                    planted.checkpoints().get(begin.path()));
                }
            }
            return gone;
        }
    }
}
