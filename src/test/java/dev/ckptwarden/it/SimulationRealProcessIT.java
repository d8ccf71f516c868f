package dev.ckptwarden.it;

import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.enforce.EnforcementReport;
import dev.ckptwarden.sim.SaveProtocols;
import dev.ckptwarden.sim.Schedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.fail;

/**
 * The real-process simulation campaign (issue 16): the in-process campaign's seeded schedules
 * ({@link Schedule}, {@link SaveProtocols}) played against {@code bin/ckpt-warden run} with real inotify and the
 * real clock, the agent killed with {@code kill -9} at seeded moments (inside a batch of evictions, during the
 * recovery that follows, and wherever the schedule stops and starts it) and started again. Once it is ready
 * again and things are quiet: nothing outside the root was touched, no pinned checkpoint and no incomplete save
 * was removed, every removal has an audit begin and end line, the trash is empty, and {@code resolve latest}
 * names only a complete save that exists.
 *
 * <p>Real time stands in for the schedule's clock: settle_time 1s, reconcile_interval 2s, and a schedule's
 * "clock +Ns" becomes a real wait of N x 50 ms, at most 1.5 s (so a pause inside a save, 30-90 s in the
 * schedule, still outlasts settle_time). {@code -Dsim.real.schedules=N} runs N seeds (default 3, about 2 minutes
 * on 2 cores); {@code -Dsim.real.seed=S} replays one; {@code -Dsim.real.first=S} starts the range elsewhere.
 * A replay repeats the schedule and the fault points, not the exact interleaving with the agent's threads.
 */
class SimulationRealProcessIT {
    private static final Duration READY = Duration.ofSeconds(90);
    private static final Pattern LISTEN = Pattern.compile("serving /metrics, /healthz and /api/v1 on (\\S+)");

    @TempDir
    Path dir;

    @Test
    void agentsKilledAtAnyMomentRecoverWithoutBreakingTheContract() throws Exception {
        SaveProtocols protocols = new SaveProtocols(Files.createDirectories(dir.resolve("scratch")));
        List<Long> seeds = new ArrayList<>();
        String one = System.getProperty("sim.real.seed");
        if (one != null) {
            seeds.add(Long.parseLong(one));
        } else {
            long first = Long.getLong("sim.real.first", 1);
            for (long s = first; s < first + Long.getLong("sim.real.schedules", 3); s++) {
                seeds.add(s);
            }
        }
        long started = System.nanoTime();
        for (long seed : seeds) {
            long t = System.nanoTime();
            Play play = new Play(Schedule.generate(seed, protocols), protocols,
                    Files.createDirectories(dir.resolve("seed-" + seed)));
            List<String> violations = play.run();
            System.out.printf("sim.real seed %d: %d steps, %d kills, %d interrupted evictions recovered, %d removals"
                            + " audited, %.1f s%n", seed, play.schedule.steps().size(), play.kills, play.recovered,
                    play.removals, (System.nanoTime() - t) / 1e9);
            if (!violations.isEmpty()) {
                fail("seed " + seed + ":\n  " + String.join("\n  ", violations) + "\nfault log:\n  "
                        + String.join("\n  ", play.faults) + "\nreplay: mvn -o test-compile failsafe:integration-test "
                        + "failsafe:verify -Dit.test=SimulationRealProcessIT -Dsim.real.seed=" + seed
                        + " (after mvn -o -q package -DskipTests)");
            }
        }
        double minutes = (System.nanoTime() - started) / 60e9;
        System.out.printf("sim.real: %d schedules in %.2f min (%.1f schedules/min)%n", seeds.size(), minutes,
                seeds.size() / minutes);
    }

    /** What a writer (or a user) did to one save, as the writers know it. */
    private static final class Save {
        final String run;
        final Path path;
        final int ops;
        int done;
        boolean broken;
        boolean removedByWriter;
        boolean pinned;

        Save(String run, Path path, int ops) {
            this.run = run;
            this.path = path;
            this.ops = ops;
        }

        boolean complete() {
            return !broken && done == ops;
        }
    }

    /** One schedule against real agent processes. */
    private static final class Play {
        final Schedule schedule;
        final SaveProtocols protocols;
        final Random rnd;
        final Path root;
        final Path outside;
        final Path state;
        final Path cfg;
        final List<Save> saves = new ArrayList<>();
        final Map<Path, Integer> created = new HashMap<>();
        final List<Path> links = new ArrayList<>();
        final List<String> faults = new ArrayList<>();
        final List<String> errors = new ArrayList<>();
        AgentProcess agent;
        int kills;
        int removals;
        int recovered;

        Play(Schedule schedule, SaveProtocols protocols, Path dir) throws IOException {
            this.schedule = schedule;
            this.protocols = protocols;
            // The fault points come from their own stream, so they never change the schedule a seed gives.
            this.rnd = new Random(~schedule.seed());
            this.root = Files.createDirectories(dir.resolve("root")).toRealPath();
            this.outside = Files.createDirectories(dir.resolve("outside")).toRealPath();
            this.state = dir.resolve("state");
            this.cfg = dir.resolve("ckpt-warden.yaml");
            Files.writeString(cfg, """
                    agent:
                      state_dir: %s
                      listen: 127.0.0.1:0
                      reconcile_interval: 2s
                      settle_time: 1s
                    roots:
                      - path: %s
                        retention:
                          keep_last: %d
                        action: delete
                    """.formatted(state, root, Schedule.KEEP_LAST));
            for (Schedule.SaveInfo s : schedule.saves()) {
                saves.add(new Save(s.run(), s.path(), s.ops()));
            }
        }

        List<String> run() throws Exception {
            try {
                setUp();
                play();
                return check();
            } finally {
                if (agent != null) {
                    collectOutput();
                    agent.close();
                }
            }
        }

        /**
         * Bait outside the root with links to it from inside, and a run of many small complete checkpoints so the
         * first pass has a long batch of evictions to be killed in, then that kill and one during recovery.
         */
        private void setUp() throws Exception {
            Files.writeString(outside.resolve("victim.ckpt"), "not yours");
            Set<String> runs = new LinkedHashSet<>();
            saves.forEach(s -> runs.add(s.run));
            runs.add("bulk");
            for (String r : runs) {
                Path link = Files.createDirectories(root.resolve(r)).resolve("epoch=99-step=99999.ckpt");
                links.add(Files.createSymbolicLink(link, outside.resolve("victim.ckpt")));
            }
            int bulk = 24 + rnd.nextInt(16);
            Instant now = Instant.now();
            for (int e = 0; e < bulk; e++) {
                SaveProtocols.Save s = protocols.lightningAtomic(Path.of("bulk"), e, 100L * (e + 1), "");
                saves.add(new Save("bulk", s.path(), s.ops().size()));
                for (SaveProtocols.Op op : s.ops()) {
                    write(saves.size() - 1, op, FileTime.from(now.minusSeconds(bulk - e)));
                }
            }
            agent = start();
            int nth = 1 + rnd.nextInt(8);
            int at = agent.awaitLine("evicted", 0, READY);
            for (int i = 1; i < nth; i++) {
                at = agent.awaitLine("evicted", at + 1, READY);
            }
            kill("at eviction #" + nth + " of the first batch");
            agent = start();
            long delay = 200 + rnd.nextInt(2000);
            // The fault's moment, not a wait for something: the JVM start and recovery take about this long.
            Thread.sleep(delay);
            kill(delay + " ms after a restart (starting up or recovering)");
            agent = start();
            awaitReady();
        }

        private void play() throws Exception {
            List<Schedule.Step> steps = schedule.steps();
            int extraKill = rnd.nextInt(Math.max(1, steps.size()));
            for (int i = 0; i < steps.size(); i++) {
                Schedule.Step step = steps.get(i);
                if (step instanceof Schedule.Step.Writer w) {
                    write(w.save(), w.op(), FileTime.from(Instant.now()));
                } else if (step instanceof Schedule.Step.Advance a) {
                    // The schedule's clock as a bounded real wait: see the class comment.
                    Thread.sleep(Math.min(1500, a.seconds() * 50));
                } else if (step instanceof Schedule.Step.Restart) {
                    kill("at step " + i + " (the schedule's restart)");
                    agent = start();
                } else if (step instanceof Schedule.Step.Pin p) {
                    pin(p.pick());
                } else if (step instanceof Schedule.Step.UserRemove u) {
                    userRemove(u.pick());
                }
                // Event and periodic passes: the real agent's inotify and reconcile_interval make them.
                if (i == extraKill) {
                    kill("at step " + i + " (" + step + ")");
                    agent = start();
                }
            }
            awaitReady();
            // Quiet: writers stopped; two full passes after settle_time has gone by let retention converge.
            Thread.sleep(1500);
            int from = agent.lineCount();
            for (int k = 0; k < 2; k++) {
                from = agent.awaitLine("pass \\(periodic\\) done", from, READY) + 1;
            }
        }

        private void write(int save, SaveProtocols.Op op, FileTime when) throws IOException {
            boolean applied;
            try {
                applied = SaveProtocols.apply(root, op, when);
            } catch (NoSuchFileException | FileAlreadyExistsException gone) {
                applied = false; // the agent removed what this step works on (a rotation of a save it evicted)
            }
            if (applied) {
                SaveProtocols.track(created, root, op, save);
            }
            if (save < 0) {
                if (op instanceof SaveProtocols.Op.Remove rm) {
                    saves.stream().filter(s -> s.path.equals(rm.path())).forEach(s -> s.removedByWriter = true);
                }
                return;
            }
            if (applied) {
                saves.get(save).done++;
            } else {
                saves.get(save).broken = true;
            }
        }

        private List<Integer> completeOnDisk() {
            List<Integer> out = new ArrayList<>();
            for (int k = 0; k < saves.size(); k++) {
                Save s = saves.get(k);
                if (s.complete() && !s.removedByWriter && Files.exists(root.resolve(s.path), LinkOption.NOFOLLOW_LINKS)) {
                    out.add(k);
                }
            }
            return out;
        }

        /** {@code ckpt-warden pin}, the real CLI; a checkpoint the registry does not know yet stays unpinned. */
        private void pin(int pick) throws Exception {
            List<Integer> candidates = completeOnDisk();
            candidates.removeIf(k -> saves.get(k).pinned);
            if (candidates.isEmpty()) {
                return;
            }
            Save s = saves.get(candidates.get(pick % candidates.size()));
            AgentProcess.Result r = AgentProcess.run("pin", "--config", cfg.toString(), root.resolve(s.path).toString());
            s.pinned = r.exit() == 0; // exit 1: not registered yet (or just evicted), and the CLI said so
        }

        private void userRemove(int pick) throws IOException {
            List<Integer> candidates = completeOnDisk();
            if (candidates.isEmpty()) {
                return;
            }
            int k = candidates.get(pick % candidates.size());
            SaveProtocols.Op rm = new SaveProtocols.Op.Remove(saves.get(k).path);
            if (SaveProtocols.apply(root, rm, FileTime.from(Instant.now()))) {
                SaveProtocols.track(created, root, rm, k);
                saves.get(k).removedByWriter = true;
            }
        }

        private AgentProcess start() throws IOException {
            return AgentProcess.start("run", "--config", cfg.toString());
        }

        private void kill(String when) throws Exception {
            agent.signal("KILL");
            agent.awaitExit(Duration.ofSeconds(30));
            collectOutput();
            kills++;
            faults.add("kill -9 " + when);
        }

        /** What one agent process said: its errors (each a finding), and the interrupted evictions it finished. */
        private void collectOutput() {
            for (String line : agent.output().split("\n")) {
                if (line.contains("ERROR")) {
                    errors.add(line);
                } else if (line.contains("recovered interrupted eviction")) {
                    recovered++;
                }
            }
        }

        /** Until {@code /healthz} answers 200: the startup pass, with its recovery, is done. */
        private void awaitReady() throws Exception {
            int at = agent.awaitLine(LISTEN.pattern(), 0, READY);
            Matcher m = LISTEN.matcher(agent.output().split("\n")[at]);
            if (!m.find()) {
                throw new AssertionError("no listen address in " + agent.output());
            }
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + m.group(1) + "/healthz")).build();
            long deadline = System.nanoTime() + READY.toNanos();
            while (http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode() != 200) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("/healthz not 200 within " + READY + "; output:\n" + agent.output());
                }
                agent.awaitLine("pass \\(startup\\) done", 0, READY); // what 200 waits for; then ask again
                Thread.sleep(50); // polling an HTTP endpoint: the answer changes on the agent's thread, not on ours
            }
        }

        private List<String> check() throws Exception {
            List<String> v = new ArrayList<>();
            Path victim = outside.resolve("victim.ckpt");
            if (!Files.isRegularFile(victim) || !Files.readString(victim).equals("not yours")) {
                v.add("the file outside the root was touched");
            }
            for (Path l : links) {
                if (!Files.isSymbolicLink(l)) {
                    v.add("the link " + root.relativize(l) + " to a file outside the root was removed");
                }
            }
            List<AuditRecord> audit = Files.exists(state.resolve(AuditLog.FILE_NAME))
                    ? AuditLog.read(state.resolve(AuditLog.FILE_NAME)) : List.of();
            for (Save s : saves) {
                Path p = root.resolve(s.path);
                if (s.removedByWriter || Files.exists(p, LinkOption.NOFOLLOW_LINKS) || !s.complete()) {
                    continue;
                }
                removals++;
                if (s.pinned) {
                    v.add("the agent removed the pinned " + s.path);
                }
                // The removal's own pair: an "ok" end line and a begin line of the same eviction (a recovery's
                // "skipped: interrupted before rename" pair is for an attempt that left it in place).
                Set<String> begun = new java.util.HashSet<>();
                audit.stream().filter(r -> r.phase().equals(AuditRecord.BEGIN) && p.toString().equals(r.path()))
                        .forEach(r -> begun.add(r.eviction()));
                List<AuditRecord> ends = audit.stream().filter(r -> r.phase().equals(AuditRecord.END)
                        && p.toString().equals(r.path()) && "ok".equals(r.outcome())).toList();
                if (ends.isEmpty()) {
                    v.add("the removal of " + s.path + " has no audit end line with outcome ok");
                } else if (ends.stream().noneMatch(r -> begun.contains(r.eviction()))) {
                    v.add("the removal of " + s.path + " has no audit begin line for its eviction " + ends.get(0).eviction());
                }
            }
            // After recovery no eviction is left open: a begin line without its end means one nobody finished.
            Set<String> ended = new java.util.HashSet<>();
            audit.stream().filter(r -> r.phase().equals(AuditRecord.END)).forEach(r -> ended.add(r.eviction() + " " + r.path()));
            audit.stream().filter(r -> r.phase().equals(AuditRecord.BEGIN) && !ended.contains(r.eviction() + " " + r.path()))
                    .forEach(r -> v.add("the audit log's eviction " + r.eviction() + " of " + r.path() + " has a begin line and"
                            + " no end line after recovery"));
            // And the other way: what the audit log says was removed is gone (no path here is ever saved twice).
            for (AuditRecord r : audit) {
                if (r.phase().equals(AuditRecord.END) && "ok".equals(r.outcome())
                        && Files.exists(Path.of(r.path()), LinkOption.NOFOLLOW_LINKS)) {
                    v.add("the audit log says " + r.path() + " was removed (eviction " + r.eviction() + "); it is on disk");
                }
            }
            for (Map.Entry<Path, Integer> e : created.entrySet()) {
                if (Files.exists(e.getKey(), LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                int k = e.getValue();
                if (k < 0 || !saves.get(k).complete()) {
                    v.add("the agent removed " + root.relativize(e.getKey()) + (k < 0 ? "" : ", part of an incomplete save ("
                            + saves.get(k).done + " of " + saves.get(k).ops + " steps)"));
                } else if (Files.exists(root.resolve(saves.get(k).path), LinkOption.NOFOLLOW_LINKS)) {
                    v.add("the agent removed " + root.relativize(e.getKey()) + " from the complete save " + saves.get(k).path
                            + ", which is still there");
                }
            }
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path t : walk.filter(p -> p.getFileName().toString().equals(Cataloger.TRASH_DIR)).toList()) {
                    try (Stream<Path> left = Files.list(t)) {
                        // .lock is the trash's own (TrashBin's lock for one pass at a time), not something deleted.
                        left.filter(p -> !p.getFileName().toString().equals(".lock")).forEach(p -> v.add("left in the trash after recovery: " + root.relativize(p)));
                    }
                }
            }
            // The bulk run's interrupted batch was finished: keep_last 2 (its newest are its highest steps) plus pins.
            List<Integer> bulk = completeOnDisk();
            bulk.removeIf(k -> !saves.get(k).run.equals("bulk"));
            long pinnedBulk = bulk.stream().filter(k -> saves.get(k).pinned).count();
            if (bulk.size() > Schedule.KEEP_LAST + pinnedBulk) {
                v.add("retention did not converge after recovery: " + bulk.size() + " complete checkpoints left in bulk ("
                        + pinnedBulk + " pinned, keep_last " + Schedule.KEEP_LAST + ")");
            }
            Set<String> runs = new LinkedHashSet<>();
            saves.forEach(s -> runs.add(s.run));
            for (String r : runs) {
                AgentProcess.Result res = AgentProcess.run("resolve", "--config", cfg.toString(), "--run", r, "latest");
                List<Integer> complete = completeOnDisk();
                complete.removeIf(k -> !saves.get(k).run.equals(r));
                if (res.exit() != 0) {
                    if (!complete.isEmpty()) {
                        v.add("resolve --run " + r + " latest found nothing (exit " + res.exit() + ": " + res.err().strip()
                                + ") though " + saves.get(complete.get(0)).path + " is complete");
                    }
                    continue;
                }
                Path answer = Path.of(res.out().strip());
                boolean ok = complete.stream().anyMatch(k -> root.resolve(saves.get(k).path).equals(answer));
                if (!ok) {
                    v.add("resolve --run " + r + " latest printed " + answer + ", not a complete save on disk");
                }
            }
            collectOutput();
            agent.close();
            agent = null;
            errors.forEach(e -> v.add("the agent logged: " + e));
            return v;
        }
    }
}
