package dev.ckptwarden.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.fail;

/**
 * The in-process simulation campaign (issue 16): seeded schedules of real framework save protocols,
 * world events and agent passes, each checked against the contract's invariants after every pass.
 * A failing seed is shrunk to a minimal schedule and reported with the one line that replays it.
 *
 * <p>{@code -Dsim.schedules=N} runs N seeds (default 16: about a minute on two busy cores); {@code -Dsim.seed=S} replays one;
 * {@code -Dsim.first=S} starts the range elsewhere (CI can walk new seeds each run); {@code -Dsim.minutes=M}
 * runs new seeds for M minutes and reports every kind of violation found (bench/sim-campaign.sh). The summary
 * line gives schedules explored and faults injected by kind.
 *
 * <p>Cluster mode ({@link #clusterSchedulesKeepTheContractsInvariants}): two agents on one tree and one real
 * PostgreSQL (skipped without one), A's connections cut mid-pass and a lease holder paused past its lease among the
 * faults. Fewer schedules (a database per schedule): {@code -Dsim.cluster.schedules=N} (default 2),
 * {@code -Dsim.cluster.seed=S} replays one, {@code -Dsim.cluster.first=S}, {@code -Dsim.cluster.minutes=M}.
 */
class SimulationCampaignTest {

    @TempDir
    Path dir;

    /** Cluster mode of this campaign's run: set by the test method, read by {@link #play} and the replay line. */
    private boolean cluster;

    @Test
    void everyScheduleKeepsTheContractsInvariants() throws IOException {
        campaign("sim", 16);
    }

    @Test
    void clusterSchedulesKeepTheContractsInvariants() throws IOException {
        dev.ckptwarden.registry.PostgresServer.shared(); // skips here, once, without a PostgreSQL server
        cluster = true;
        campaign("sim.cluster", 2);
    }

    /** Runs the seeds the properties under {@code prefix} ask for ({@code defaultCount} from seed 1 by default). */
    private void campaign(String prefix, long defaultCount) throws IOException {
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        SaveProtocols protocols = new SaveProtocols(scratch);
        String one = System.getProperty(prefix + ".seed");
        long first = one != null ? Long.parseLong(one) : Long.getLong(prefix + ".first", 1);
        long n = one != null ? 1 : Long.getLong(prefix + ".schedules", defaultCount);
        // -Dsim.minutes=M: a campaign bounded by time instead of count (bench/sim-campaign.sh), which goes on past
        // a failure so that one run reports every kind of violation it finds, each with its first seed.
        double minutes = one != null ? 0 : Double.parseDouble(System.getProperty(prefix + ".minutes", "0"));
        long deadline = minutes > 0 ? System.nanoTime() + (long) (minutes * 60e9) : Long.MAX_VALUE;
        long started = System.nanoTime();
        Map<String, Integer> faults = new TreeMap<>();
        Map<String, String> failures = new LinkedHashMap<>();
        long explored = 0;
        long steps = 0;
        for (long seed = first; minutes > 0 ? System.nanoTime() < deadline : seed < first + n; seed++) {
            Schedule schedule = Schedule.generate(seed, protocols, cluster);
            explored++;
            steps += schedule.steps().size();
            schedule.faults().forEach((k, v) -> faults.merge(k, v, Integer::sum));
            Optional<String> violation = play(schedule);
            if (violation.isPresent() && !failures.containsKey(kind(violation.get()))) {
                failures.put(kind(violation.get()), report(seed, schedule, violation.get()));
                if (minutes <= 0) {
                    break;
                }
            }
        }
        StringBuilder summary = new StringBuilder();
        summary.append(String.format("simulation campaign%s: %d schedule(s) explored (seeds %d..%d), %d steps, %.1f s%n",
                cluster ? " (cluster mode)" : "", explored, first, first + explored - 1, steps,
                (System.nanoTime() - started) / 1e9));
        summary.append("faults injected by kind:\n");
        faults.forEach((k, v) -> summary.append(String.format("  %6d  %s%n", v, k)));
        effective.forEach((k, v) -> summary.append(String.format("  %6d  took effect: %s%n", v, k)));
        skipped.forEach((k, why) -> summary.append("  not effective here: ").append(k).append(": ").append(why).append('\n'));
        summary.append(failures.isEmpty() ? "no violation\n" : failures.size() + " kind(s) of violation\n");
        failures.values().forEach(summary::append);
        summary.append("end of simulation campaign\n");
        System.out.print(summary);
        if (!failures.isEmpty()) {
            fail(String.join("\n", failures.values()));
        }
    }

    /** Faults that could not take effect in this environment (no mount, root's CAP_DAC_OVERRIDE), and why. */
    private final Map<String, String> skipped = new TreeMap<>();
    /** Faults that took effect, where a drawn fault may miss (see {@link Simulation#effective}). */
    private final Map<String, Integer> effective = new TreeMap<>();

    private String report(long seed, Schedule schedule, String violation) throws IOException {
        Schedule small = shrink(schedule, kind(violation));
        Optional<String> smallViolation = play(small);
        StringBuilder report = new StringBuilder();
        report.append("seed ").append(seed).append(": ").append(violation).append('\n');
        report.append("shrunk from ").append(schedule.steps().size()).append(" to ").append(small.steps().size())
                .append(" steps: ").append(smallViolation.orElse("(the shrunk schedule passes; the full one is above)"))
                .append('\n');
        for (int i = 0; i < small.steps().size(); i++) {
            report.append(String.format("  %3d  %s%n", i, small.steps().get(i)));
        }
        // Unreadable directories bind only without CAP_DAC_OVERRIDE: a seed found that way replays that way.
        String wrap = TinyFileSystem.permissionsBind() && "root".equals(System.getProperty("user.name"))
                ? "setpriv --bounding-set -dac_override,-dac_read_search --inh-caps -dac_override,-dac_read_search " : "";
        report.append("replay: ").append(wrap).append("mvn -o -Dtest=SimulationCampaignTest")
                .append(cluster ? "#clusterSchedulesKeepTheContractsInvariants -Dsim.cluster.seed="
                        : "#everyScheduleKeepsTheContractsInvariants -Dsim.seed=").append(seed)
                .append(Schedule.CLOCK_BACK ? "" : " -Dsim.clockBack=false").append(" test\n");
        return report.toString();
    }

    private int runs;

    private Optional<String> play(Schedule schedule) throws IOException {
        try (Simulation sim = new Simulation(schedule, Files.createDirectories(dir.resolve("run-" + runs++)), cluster)) {
            try {
                return sim.play();
            } finally {
                skipped.putAll(sim.skipped);
                sim.effective.forEach((k, v) -> effective.merge(k, v, Integer::sum));
            }
        }
    }

    /**
     * What kind of violation a report is ("the agent removed ... the most recently completed save of"),
     * without where it happened, its paths and numbers: shrinking keeps a schedule only if it still
     * fails the same way, so a small report is about the bug that was found, not another.
     */
    static String kind(String violation) {
        String v = violation.replaceFirst("^after (step \\d+ \\(.*?\\)|the quiet end): ", "");
        StringBuilder out = new StringBuilder();
        for (String word : v.split(" ")) {
            if (!word.contains("/") && !word.matches(".*\\d.*")) {
                out.append(word).append(' ');
            }
        }
        return out.toString().trim();
    }

    /**
     * Removes steps while the schedule still fails the same way: halves, then ever smaller chunks, down to single
     * steps (delta debugging, the way jqwik shrinks a list). Bounded ({@code -Dsim.shrink=N} replays, 300 by
     * default), so a report never takes long.
     */
    private Schedule shrink(Schedule failing, String kind) throws IOException {
        Schedule current = failing;
        int budget = Integer.getInteger("sim.shrink", 300);
        for (int chunk = Math.max(1, current.steps().size() / 2); chunk >= 1 && budget > 0; chunk /= 2) {
            boolean progress = true;
            while (progress && budget > 0) {
                progress = false;
                for (int from = 0; from + chunk <= current.steps().size() && budget > 0; ) {
                    Schedule candidate = current.without(from, from + chunk);
                    budget--;
                    if (play(candidate).map(SimulationCampaignTest::kind).filter(kind::equals).isPresent()) {
                        current = candidate;
                        progress = true;
                    } else {
                        from += chunk;
                    }
                }
            }
        }
        return current;
    }
}
