package dev.ckptwarden.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.fail;

/**
 * The in-process simulation campaign (issue 16): seeded schedules of real framework save protocols,
 * world events and agent passes, each checked against the contract's invariants after every pass.
 * A failing seed is shrunk to a minimal schedule and reported with the one line that replays it.
 *
 * <p>{@code -Dsim.schedules=N} runs N seeds (default 40, a few seconds); {@code -Dsim.seed=S} replays
 * one; {@code -Dsim.first=S} starts the range elsewhere (CI can walk new seeds each run).
 */
class SimulationCampaignTest {

    @TempDir
    Path dir;

    @Test
    void everyScheduleKeepsTheContractsInvariants() throws IOException {
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        SaveProtocols protocols = new SaveProtocols(scratch);
        List<Long> seeds = new ArrayList<>();
        String one = System.getProperty("sim.seed");
        if (one != null) {
            seeds.add(Long.parseLong(one));
        } else {
            long first = Long.getLong("sim.first", 1);
            long n = Long.getLong("sim.schedules", 40);
            for (long s = first; s < first + n; s++) {
                seeds.add(s);
            }
        }
        for (long seed : seeds) {
            Schedule schedule = Schedule.generate(seed, protocols);
            Optional<String> violation = play(schedule);
            if (violation.isPresent()) {
                Schedule small = shrink(schedule, kind(violation.get()));
                Optional<String> smallViolation = play(small);
                StringBuilder report = new StringBuilder();
                report.append("seed ").append(seed).append(": ").append(violation.get()).append('\n');
                report.append("shrunk from ").append(schedule.steps().size()).append(" to ").append(small.steps().size())
                        .append(" steps: ").append(smallViolation.orElse("(the shrunk schedule passes; the full one is above)"))
                        .append('\n');
                for (int i = 0; i < small.steps().size(); i++) {
                    report.append(String.format("  %3d  %s%n", i, small.steps().get(i)));
                }
                report.append("replay: mvn -o -Dtest=SimulationCampaignTest -Dsim.seed=").append(seed).append(" test");
                fail(report.toString());
            }
        }
    }

    private int runs;

    private Optional<String> play(Schedule schedule) throws IOException {
        try (Simulation sim = new Simulation(schedule, Files.createDirectories(dir.resolve("run-" + runs++)))) {
            return sim.play();
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
     * steps (delta debugging, the way jqwik shrinks a list). Bounded, so a report never takes minutes.
     */
    private Schedule shrink(Schedule failing, String kind) throws IOException {
        Schedule current = failing;
        int budget = 300;
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
