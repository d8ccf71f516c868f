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

        /** A write that follows save {@code save} only if it completed (Orbax's {@code commit_success.txt}). */
        record Commit(int save, SaveProtocols.Op op) implements Step {
            @Override
            public String toString() {
                return "after save " + save + ": " + op;
            }
        }

        /** A user removes a whole run directory ({@code rm -rf run}) while its job may still be saving. */
        record RemoveRun(String run) implements Step {
            @Override
            public String toString() {
                return "user: rm -rf " + run;
            }
        }

        /** A pause inside a save longer than {@code settle_time} (a slow or stalled writer). */
        record Pause(long seconds) implements Step {
            @Override
            public String toString() {
                return "fault: writer pauses " + seconds + "s mid-save";
            }
        }

        /** The clock jumps (NTP step, a VM resumed): negative is backwards. Files written after it carry the new time. */
        record ClockJump(long seconds) implements Step {
            @Override
            public String toString() {
                return "fault: clock jumps " + (seconds < 0 ? "back " : "forward ") + Math.abs(seconds) + "s";
            }
        }

        /** {@code chmod 000} on a run directory, a periodic pass, resolve, then the mode restored. */
        record Unreadable(String run) implements Step {
            @Override
            public String toString() {
                return "fault: " + run + " unreadable (chmod 000) for a pass";
            }
        }

        /** The root disappears (unmounted, renamed) for {@code passes} periodic passes, then comes back. */
        record RootAway(int passes) implements Step {
            @Override
            public String toString() {
                return "fault: root gone for " + passes + " pass(es), then back";
            }
        }

        /** The checkpoint file system fills up (ENOSPC): writers' writes fail until {@link DiskFree}. */
        record DiskFull() implements Step {
            @Override
            public String toString() {
                return "fault: checkpoint file system full (ENOSPC)";
            }
        }

        record DiskFree() implements Step {
            @Override
            public String toString() {
                return "checkpoint file system has space again";
            }
        }

        /** {@code state_dir} is full (ENOSPC) for one pass (registry and audit log cannot grow). */
        record StateFull() implements Step {
            @Override
            public String toString() {
                return "fault: state_dir full (ENOSPC) for a pass";
            }
        }

        /** The kernel's event queue overflows: the watcher signals OVERFLOW, the agent looks at the whole root. */
        record Overflow() implements Step {
            @Override
            public String toString() {
                return "fault: inotify queue overflow";
            }
        }

        /** A burst of {@code events} watch events (every directory of the root, repeatedly) before one event pass. */
        record Flood(int events) implements Step {
            @Override
            public String toString() {
                return "fault: flood of " + events + " watch events";
            }
        }

        /** Cluster mode: the second agent (B, on the same tree and database) runs a periodic pass. */
        record OtherPass() implements Step {
            @Override
            public String toString() {
                return "agent B: periodic pass";
            }
        }

        /** Cluster mode: agent {@code agent} (0 is A, 1 is B) takes or renews the lease. */
        record Renew(int agent) implements Step {
            @Override
            public String toString() {
                return "agent " + (agent == 0 ? "A" : "B") + ": lease renewal";
            }
        }

        /**
         * Cluster mode: agent A's connections to the database are cut once A has sent {@code bytes} more bytes
         * (inside the pass that follows, at a seeded point), for one periodic pass of A; then the network heals.
         */
        record DatabaseCut(int bytes) implements Step {
            @Override
            public String toString() {
                return "fault: A's database connections cut after " + bytes + " bytes, for a pass";
            }
        }

        /**
         * Cluster mode: the lease holder is paused (SIGSTOP, a VM frozen) past its lease; the other agent takes the
         * lease over and runs a pass; the paused one wakes still believing it holds the lease and runs a pass.
         */
        record HolderPaused() implements Step {
            @Override
            public String toString() {
                return "fault: the lease holder paused past its lease, overtaken, then wakes";
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
        return generate(seed, protocols, false);
    }

    /**
     * @param cluster two agents on one tree and one PostgreSQL database (cluster mode): their passes, lease renewals,
     *                database cuts and a paused holder join the schedule, from their own draws (the writers' steps of
     *                a seed are the same in both modes)
     */
    public static Schedule generate(long seed, SaveProtocols protocols, boolean cluster) {
        Random rnd = new Random(seed);
        Random clusterRnd = new Random(~seed);
        List<SaveInfo> saves = new ArrayList<>();
        List<List<Step>> perRun = new ArrayList<>();
        // The last step of each save: a holder paused right after one has an eviction to attempt when it wakes.
        java.util.Set<Step> completing = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        int runs = 1 + rnd.nextInt(3);
        int prevKind = -1;
        String prevRun = null;
        for (int r = 0; r < runs; r++) {
            int kind = rnd.nextInt(KINDS);
            String run = switch (kind) {
                case 0 -> "lt-inplace-" + r;
                case 1 -> "lt-atomic-" + r;
                case 2 -> "hf-staged-" + r;
                case 3 -> "hf-inplace-" + r;
                case 4 -> "deepspeed-" + r;
                case 5 -> "dcp-" + r;
                case 6 -> "orbax-" + r;
                case 7 -> "orbax-commit-" + r;
                case 8 -> "nemo-" + r;
                default -> "torch-" + r;
            };
            if (r > 0 && rnd.nextInt(3) == 0 && (kind == 9) != (prevKind == 9) && (kind <= 1 || kind == 9)
                    && (prevKind <= 1 || prevKind == 9)) {
                run = prevRun; // two jobs in one run directory: a Lightning job and a plain torch.save job
            }
            if (!protocols.available(kind)) {
                kind = 1; // the corpus (real DCP bytes) is absent: a Lightning job instead
                run = "lt-atomic-" + r;
            }
            prevKind = kind;
            prevRun = run;
            Path runDir = Path.of(run);
            List<Step> steps = new ArrayList<>();
            int count = 3 + rnd.nextInt(4);
            int restartAt = kind <= 1 && rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(count - 1) : -1;
            boolean killLast = rnd.nextInt(5) == 0;
            int topK = kind <= 1 ? (rnd.nextBoolean() ? -1 : 3) : (rnd.nextBoolean() ? -1 : 3);
            List<Integer> mine = new ArrayList<>();
            // A NeMo job killed mid-save and started again: its own draws, so that other jobs' schedules stay as they were.
            Random nemoRnd = new Random(seed * 31 + r);
            int nemoKillAt = kind == 8 && count > 2 && nemoRnd.nextInt(3) == 0 ? 1 + nemoRnd.nextInt(count - 2) : -1;
            Path cleaned = null;
            for (int k = 0; k < count; k++) {
                boolean restarted = restartAt >= 0 && k >= restartAt;
                // After NeMo's restart the job resumes from its last complete save and saves the killed step again.
                int epoch = restarted ? k - restartAt : nemoKillAt >= 0 && k > nemoKillAt ? k - 1 : k;
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
                    if (kind == 7) {
                        SaveProtocols.OrbaxCommit oc = protocols.orbaxCommitFile(runDir, step);
                        latest = oc.commitFile(); // commit_success.txt: written after the save counts as complete
                        latestAfter = oc.save().ops().size();
                        s = oc.save();
                    } else {
                        s = switch (kind) {
                            case 0 -> protocols.lightningInPlace(runDir, epoch, step, suffix);
                            case 1 -> protocols.lightningAtomic(runDir, epoch, step, suffix);
                            case 2 -> protocols.hfStaged(runDir, step);
                            case 3 -> protocols.hfInPlace(runDir, step);
                            case 5 -> protocols.dcp(runDir, step);
                            case 6 -> protocols.orbaxRename(runDir, step);
                            case 8 -> protocols.nemo(runDir, step);
                            default -> protocols.torchSave(runDir, step);
                        };
                    }
                }
                if (kind >= 2 && !s.path().equals(cleaned) && saves.stream().anyMatch(o -> o.path().equals(s.path()))) {
                    continue;
                }
                cleaned = null;
                int id = saves.size();
                saves.add(new SaveInfo(run, s.path(), s.step(), s.ops().size()));
                mine.add(id);
                List<SaveProtocols.Op> ops = s.ops();
                int upTo = killLast && k == count - 1 ? rnd.nextInt(ops.size())
                        : k == nemoKillAt ? 1 + nemoRnd.nextInt(ops.size() - 1) : ops.size();
                for (int i = 0; i < upTo; i++) {
                    if (i == latestAfter) {
                        steps.add(new Step.Writer(-1, latest)); // DeepSpeed's tag file: an alias, not the save
                    }
                    steps.add(new Step.Writer(id, ops.get(i)));
                    if (i == ops.size() - 1) {
                        completing.add(steps.get(steps.size() - 1));
                    }
                    if (rnd.nextInt(8) == 0) {
                        steps.add(new Step.Pause(30 + rnd.nextInt(60))); // a pause inside a save, past settle_time
                    }
                }
                if (latestAfter == ops.size() && upTo == ops.size()) {
                    // After the save: DeepSpeed's latest (after the barrier), Orbax's commit_success.txt (only if the
                    // save succeeded: finalize runs after every write returned).
                    steps.add(kind == 7 ? new Step.Commit(id, latest) : new Step.Writer(-1, latest));
                }
                if (k == nemoKillAt) {
                    // The job is killed mid-save and started again: NeMo's setup removes what its marker says is unfinished.
                    mine.remove(Integer.valueOf(id));
                    SaveProtocols.nemoRestartCleanup(s.path()).forEach(op -> steps.add(new Step.Writer(-1, op)));
                    cleaned = s.path();
                    continue;
                }
                if (topK > 0 && mine.size() > topK) {
                    // save_top_k / save_total_limit rotation: the writer removes its oldest save (NeMo behind its marker).
                    Path oldest = saves.get(mine.remove(0)).path();
                    List<SaveProtocols.Op> rotation = kind == 8 ? SaveProtocols.nemoRemove(oldest)
                            : List.of(new SaveProtocols.Op.Remove(oldest));
                    rotation.forEach(op -> steps.add(new Step.Writer(-1, op)));
                }
            }
            perRun.add(steps);
        }
        List<Step> out = new ArrayList<>();
        int[] next = new int[runs];
        boolean full = false;
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
            } else if (dice < 56) {
                out.add(new Step.RemoveRun(saves.get(Math.max(0, lastSave(s))).run()));
            } else if (dice < 58) {
                boolean back = rnd.nextBoolean();
                long seconds = back ? 60 + rnd.nextInt(7200) : 3600 + rnd.nextInt(86400);
                out.add(new Step.ClockJump(back && CLOCK_BACK ? -seconds : seconds));
            } else if (dice < 60 && !saves.isEmpty()) {
                out.add(new Step.Unreadable(saves.get(Math.max(0, lastSave(s))).run()));
            } else if (dice < 61) {
                out.add(new Step.RootAway(1 + rnd.nextInt(2)));
            } else if (dice < 63) {
                out.add(full ? new Step.DiskFree() : new Step.DiskFull());
                full = !full;
            } else if (dice < 64) {
                out.add(new Step.StateFull());
            } else if (dice < 66) {
                out.add(new Step.Overflow());
            } else if (dice < 67) {
                out.add(new Step.Flood(50 + rnd.nextInt(500)));
            }
            if (cluster) {
                int c = clusterRnd.nextInt(100);
                if (c < 20) {
                    out.add(new Step.OtherPass());
                } else if (c < 30) {
                    out.add(new Step.Renew(clusterRnd.nextInt(2)));
                } else if (c < 33) {
                    out.add(new Step.DatabaseCut(clusterRnd.nextInt(CUT_BYTES)));
                } else if (c < 35 || (completing.contains(s) && c < 60)) {
                    out.add(new Step.HolderPaused());
                }
            }
            n++;
        }
        if (full) {
            out.add(new Step.DiskFree());
        }
        return new Schedule(seed, saves, out);
    }

    /**
     * Whether the clock may jump backwards: on unless {@code -Dsim.clockBack=false}. It was off while backward jumps
     * made keep_last evict a save it should keep (seeds 14, 500072, 600032: a save finished just before the jump
     * stayed writing until the clock caught up with its files' times, then completed after later saves and
     * outranked them). With it off the same draw jumps forward.
     */
    static final boolean CLOCK_BACK = Boolean.parseBoolean(System.getProperty("sim.clockBack", "true"));

    /** Database cuts fall within this many bytes of A's traffic: about what one pass of a small tree sends. */
    static final int CUT_BYTES = 8_000;

    /** How many kinds of training job {@link #generate} chooses from. */
    static final int KINDS = 10;

    private static int lastSave(Step s) {
        return s instanceof Step.Writer w ? w.save() : 0;
    }

    private static String faultKind(Step s) {
        if (s instanceof Step.Pause) {
            return "slow write past settle_time";
        } else if (s instanceof Step.ClockJump j) {
            return j.seconds() < 0 ? "clock jumps back" : "clock jumps forward";
        } else if (s instanceof Step.Unreadable) {
            return "unreadable directory";
        } else if (s instanceof Step.RootAway) {
            return "root gone and back";
        } else if (s instanceof Step.DiskFull) {
            return "ENOSPC on the checkpoint file system";
        } else if (s instanceof Step.StateFull) {
            return "ENOSPC on state_dir";
        } else if (s instanceof Step.Overflow) {
            return "inotify overflow";
        } else if (s instanceof Step.Flood) {
            return "watch event flood";
        } else if (s instanceof Step.Restart) {
            return "agent restart";
        } else if (s instanceof Step.RemoveRun) {
            return "rm -rf of a run";
        } else if (s instanceof Step.UserRemove) {
            return "user deletes a checkpoint";
        } else if (s instanceof Step.Pin) {
            return "user pins a checkpoint";
        } else if (s instanceof Step.DatabaseCut) {
            return "database unreachable mid-pass";
        } else if (s instanceof Step.HolderPaused) {
            return "lease holder paused and overtaken";
        }
        return null;
    }

    /** The faults this schedule injects, by kind (what the campaign reports). */
    public java.util.Map<String, Integer> faults() {
        java.util.Map<String, Integer> out = new java.util.TreeMap<>();
        for (Step s : steps) {
            String kind = faultKind(s);
            if (kind != null) {
                out.merge(kind, 1, Integer::sum);
            }
        }
        return out;
    }

    /** This schedule without the steps in [from, to). */
    Schedule without(int from, int to) {
        List<Step> s = new ArrayList<>(steps.subList(0, from));
        s.addAll(steps.subList(to, steps.size()));
        return new Schedule(seed, saves, s);
    }
}
