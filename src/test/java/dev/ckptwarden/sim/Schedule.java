package dev.ckptwarden.sim;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One seeded schedule: training jobs saving with their frameworks' real protocols, interleaved with the
 * world's events (time passing, long pauses inside a save, a job killed mid-save, a restart from step 0,
 * rotations, pins by hand) and the agent's passes. Paths are relative to the simulated root. The same
 * seed always gives the same schedule; {@link #without} gives the smaller schedules shrinking tries.
 */
public record Schedule(long seed, List<SaveInfo> saves, List<Step> steps) {

    /** A save the schedule may complete: its run, its checkpoint's path, and how many steps it takes. */
    public record SaveInfo(String run, Path path, long step, int ops) {
    }

    public sealed interface Step {
        /** A writer's file-system action, part of save {@code save} (-1: a rotation, not part of a save). */
        record Writer(int save, SaveProtocols.Op op) implements Step {
            @Override
            public String toString() {
                return (save < 0 ? "rotation" : "save " + save) + ": " + op;
            }
        }

        record Advance(long seconds) implements Step {
            @Override
            public String toString() {
                return "clock +" + seconds + "s";
            }
        }

        record EventPass(String run) implements Step {
            @Override
            public String toString() {
                return "agent: event pass in " + run;
            }
        }

        record PeriodicPass() implements Step {
            @Override
            public String toString() {
                return "agent: periodic pass";
            }
        }

        record Restart() implements Step {
            @Override
            public String toString() {
                return "agent: stop and start again";
            }
        }

        /** A user removes the {@code pick}-th (modulo how many there are) complete checkpoint by hand. */
        record UserRemove(int pick) implements Step {
            @Override
            public String toString() {
                return "user: rm -rf complete checkpoint #" + pick;
            }
        }

        /** A user pins the {@code pick}-th (modulo how many there are) complete checkpoint on disk. */
        record Pin(int pick) implements Step {
            @Override
            public String toString() {
                return "user: pin complete checkpoint #" + pick;
            }
        }
    }

    public static final int KEEP_LAST = 2;

    public static Schedule generate(long seed, SaveProtocols protocols) {
        Random rnd = new Random(seed);
        List<SaveInfo> saves = new ArrayList<>();
        List<List<Step>> perRun = new ArrayList<>();
        int runs = 1 + rnd.nextInt(3);
        for (int r = 0; r < runs; r++) {
            int kind = rnd.nextInt(5);
            String run = switch (kind) {
                case 0 -> "lt-inplace-" + r;
                case 1 -> "lt-atomic-" + r;
                case 2 -> "hf-staged-" + r;
                case 3 -> "hf-inplace-" + r;
                default -> "deepspeed-" + r;
            };
            Path runDir = Path.of(run);
            List<Step> steps = new ArrayList<>();
            int count = 3 + rnd.nextInt(4);
            int restartAt = kind <= 1 && rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(count - 1) : -1;
            boolean killLast = rnd.nextInt(5) == 0;
            int topK = kind <= 1 ? (rnd.nextBoolean() ? -1 : 3) : (rnd.nextBoolean() ? -1 : 3);
            List<Integer> mine = new ArrayList<>();
            for (int k = 0; k < count; k++) {
                boolean restarted = restartAt >= 0 && k >= restartAt;
                int epoch = restarted ? k - restartAt : k;
                long step = 100L * (epoch + 1);
                // Lightning names a save whose name exists "-v1" (ModelCheckpoint's version suffix).
                String suffix = restarted && epoch < restartAt ? "-v1" : "";
                SaveProtocols.Op latest = null;
                int latestAfter = -1;
                SaveProtocols.Save s;
                if (kind == 4) {
                    SaveProtocols.DeepSpeedSave ds = protocols.deepSpeed(runDir, step, 2, rnd.nextBoolean());
                    s = ds.save();
                    latest = ds.latest();
                    latestAfter = ds.latestAfter();
                } else {
                    s = switch (kind) {
                        case 0 -> protocols.lightningInPlace(runDir, epoch, step, suffix);
                        case 1 -> protocols.lightningAtomic(runDir, epoch, step, suffix);
                        case 2 -> protocols.hfStaged(runDir, step);
                        default -> protocols.hfInPlace(runDir, step);
                    };
                }
                if (kind >= 2 && kind <= 3 && saves.stream().anyMatch(o -> o.path().equals(s.path()))) {
                    continue;
                }
                int id = saves.size();
                saves.add(new SaveInfo(run, s.path(), s.step(), s.ops().size()));
                mine.add(id);
                List<SaveProtocols.Op> ops = s.ops();
                int upTo = killLast && k == count - 1 ? rnd.nextInt(ops.size()) : ops.size();
                for (int i = 0; i < upTo; i++) {
                    if (i == latestAfter) {
                        steps.add(new Step.Writer(-1, latest)); // DeepSpeed's tag file: an alias, not the save
                    }
                    steps.add(new Step.Writer(id, ops.get(i)));
                    if (rnd.nextInt(8) == 0) {
                        steps.add(new Step.Advance(30 + rnd.nextInt(60))); // a pause inside a save, past settle_time
                    }
                }
                if (latestAfter == ops.size() && upTo == ops.size()) {
                    steps.add(new Step.Writer(-1, latest));
                }
                if (topK > 0 && mine.size() > topK) {
                    // save_top_k / save_total_limit rotation: the writer removes its oldest save.
                    steps.add(new Step.Writer(-1, new SaveProtocols.Op.Remove(saves.get(mine.remove(0)).path())));
                }
            }
            perRun.add(steps);
        }
        List<Step> out = new ArrayList<>();
        int[] next = new int[runs];
        int n = 0;
        while (true) {
            List<Integer> open = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                if (next[r] < perRun.get(r).size()) {
                    open.add(r);
                }
            }
            if (open.isEmpty()) {
                break;
            }
            int r = open.get(rnd.nextInt(open.size()));
            Step s = perRun.get(r).get(next[r]++);
            out.add(s);
            out.add(new Step.Advance(1 + rnd.nextInt(8)));
            int dice = rnd.nextInt(100);
            if (dice < 35 && s instanceof Step.Writer w && w.save() >= 0) {
                out.add(new Step.EventPass(saves.get(w.save()).run()));
            } else if (dice < 45) {
                out.add(new Step.PeriodicPass());
            } else if (dice < 48) {
                out.add(new Step.Restart());
            } else if (dice < 53) {
                out.add(new Step.Pin(rnd.nextInt(1000)));
            } else if (dice < 55) {
                out.add(new Step.UserRemove(rnd.nextInt(1000)));
            }
            n++;
        }
        return new Schedule(seed, saves, out);
    }

    /** This schedule without the steps in [from, to). */
    Schedule without(int from, int to) {
        List<Step> s = new ArrayList<>(steps.subList(0, from));
        s.addAll(steps.subList(to, steps.size()));
        return new Schedule(seed, saves, s);
    }
}
