package dev.ckptwarden.cli;

import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.enforce.TrashBin;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ckpt-warden enforce} on a state directory that does not exist yet, as a real process killed with
 * SIGKILL at a random instant of its life or as soon as one of the files a first start creates appears (JVM
 * start, {@code state_dir}, the agent lock, the registry and its schema, the pin journal, the audit log, the
 * manifest key, the trash, the evictions), then run again:
 * the second start must work (exit 0, no problem reported) and leave what an uninterrupted first start
 * leaves. Whatever a kill leaves in {@code state_dir} must never make every later start refuse.
 *
 * <p>The kill instants come from a seed, fixed for the suite ({@code -Dckptwarden.firststart.seed=N} replays
 * one, {@code random} takes a new one, {@code -Dckptwarden.firststart.rounds=R} runs longer); on a slower
 * machine the same milliseconds land elsewhere, and any failure is a real bug, reported with seed and delay.
 */
class FirstStartCrashTest {
    private static final Instant T0 = Instant.parse("2026-01-01T12:00:00Z");
    private static final long DEFAULT_SEED = 20261207L;
    /** What a first start creates, in {@code state_dir} or (the trash) in the root. */
    private static final List<String> FIRST_WRITES = List.of("agent.lock", "registry.db", "registry.db-wal", "pins.jsonl",
            "audit.jsonl", "trash.key", TrashBin.DIR_NAME, TrashBin.DIR_NAME + "/.lock");

    @TempDir
    Path tmp;

    @Test
    void anAgentKilledAtAnyInstantOfItsFirstStartStartsAgainAndFinishesTheJob() throws Exception {
        String given = System.getProperty("ckptwarden.firststart.seed", "").strip();
        long seed = given.isEmpty() ? DEFAULT_SEED : given.equals("random") ? System.nanoTime() : Long.parseLong(given);
        int rounds = Integer.getInteger("ckptwarden.firststart.rounds", 4);
        System.out.println("FirstStartCrashTest seed: " + seed + " (rerun with -Dckptwarden.firststart.seed=" + seed + ")");
        Random rnd = new Random(seed);

        // An uninterrupted first start: what every killed one must end as, and how long a whole life lasts.
        Site reference = plant(tmp.resolve("reference"));
        long started = System.nanoTime();
        Process whole = start(reference);
        assertThat(whole.waitFor(120, TimeUnit.SECONDS)).as("uninterrupted enforce finished").isTrue();
        long lifeMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(whole.exitValue()).as("uninterrupted enforce: " + Files.readString(reference.err)).isZero();
        Map<String, Long> expected = outsideTrash(reference.root);
        assertThat(expected.size()).as("files left by keep_last 2").isLessThan(outsideTrash(plantOnly()).size());

        List<Long> delays = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            Site site = plant(tmp.resolve("round-" + round));
            // Odd rounds are killed as soon as a chosen file appears (polled every millisecond), when what a start
            // writes first is being written; even rounds at a random instant of a whole life.
            String file = round % 2 == 1 ? FIRST_WRITES.get(rnd.nextInt(FIRST_WRITES.size())) : null;
            long delay = rnd.nextInt((int) Math.max(1, lifeMillis));
            String where = "round " + round + " (seed " + seed + ", killed " + (file != null ? "when " + file
                    + " appeared" : delay + " ms after its start") + "; a whole first start took " + lifeMillis + " ms)";
            Process child = start(site);
            if (file != null) {
                Path watched = file.startsWith(TrashBin.DIR_NAME) ? site.root.resolve(file) : site.state.resolve(file);
                long begun = System.nanoTime();
                while (!Files.exists(watched, LinkOption.NOFOLLOW_LINKS) && !child.waitFor(1, TimeUnit.MILLISECONDS)) {
                    // polls the file; bounded by the child's life
                }
                delays.add((System.nanoTime() - begun) / 1_000_000);
            } else {
                delays.add(delay);
                child.waitFor(delay, TimeUnit.MILLISECONDS);
            }
            child.destroyForcibly();
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).as(where + ": killed child gone").isTrue();

            CliRun again = CliRun.withConfig(site.config, "enforce");
            assertThat(again.code()).as(where + ": the start after the kill\n" + again
                    + "\nstderr of the killed one: " + Files.readString(site.err)).isZero();
            assertThat(outsideTrash(site.root)).as(where + ": checkpoints after the second start").isEqualTo(expected);
            try (Stream<Path> trash = Files.list(site.root.resolve(TrashBin.DIR_NAME))) {
                assertThat(trash.map(p -> p.getFileName().toString())).as(where + ": trash").containsOnly(".lock");
            }
            List<AuditRecord> audit = AuditLog.read(site.state.resolve(AuditLog.FILE_NAME));
            Set<String> ended = new HashSet<>();
            audit.stream().filter(a -> a.phase().equals(AuditRecord.END)).forEach(a -> assertThat(ended.add(a.eviction()))
                    .as(where + ": one end line for eviction " + a.eviction()).isTrue());
            for (AuditRecord a : audit) {
                if (a.phase().equals(AuditRecord.BEGIN) && !ended.contains(a.eviction())) {
                    // Killed between the begin line and its manifest: nothing moved, and the next pass evicted
                    // the checkpoint again under a new id.
                    assertThat(Files.exists(Path.of(a.path()), LinkOption.NOFOLLOW_LINKS)).as(where
                            + ": checkpoint of an audit begin without end").isFalse();
                }
            }
        }
        System.out.println("FirstStartCrashTest: an uninterrupted first start took " + lifeMillis + " ms; killed after "
                + delays + " ms");
    }

    /** One root with two runs (five Lightning files, three Hugging Face directories) and a configuration. */
    private record Site(Path root, Path state, Path config, Path err) {
    }

    private Site plant(Path base) throws IOException {
        Path root = Files.createDirectories(base.resolve("ckpt")).toRealPath();
        for (int i = 1; i <= 5; i++) {
            TreeBuilder.lightningCkpt(root.resolve("lit/epoch=" + i + "-step=" + i * 100 + ".ckpt"), i, i * 100L, true,
                    T0.plusSeconds(i));
        }
        for (int s = 1; s <= 3; s++) {
            TreeBuilder.hfCheckpoint(Files.createDirectories(root.resolve("hf")), s * 500L, true, true,
                    T0.plusSeconds(s));
        }
        Path state = base.resolve("state");
        Path config = Files.writeString(base.resolve("ckpt-warden.yaml"), """
                agent:
                  state_dir: %s
                  settle_time: 10s
                roots:
                  - path: %s
                    retention:
                      keep_last: 2
                    action: delete
                """.formatted(state, root));
        return new Site(root, state, config, base.resolve("child.err"));
    }

    private Path plantOnly() throws IOException {
        return plant(tmp.resolve("planted")).root;
    }

    /** {@code ckpt-warden enforce} of this build as a process of its own, its output in files. */
    private static Process start(Site site) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "enforce", "--config", site.config.toString()));
        return new ProcessBuilder(cmd).redirectOutput(site.err.resolveSibling("child.out").toFile())
                .redirectError(site.err.toFile()).start();
    }

    /** Regular files under {@code root} outside the trash, with their sizes. */
    private static Map<String, Long> outsideTrash(Path root) throws IOException {
        Map<String, Long> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String rel = root.relativize(p).toString();
                if (!rel.startsWith(TrashBin.DIR_NAME) && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(rel, Files.size(p));
                }
            }
        }
        return out;
    }
}
