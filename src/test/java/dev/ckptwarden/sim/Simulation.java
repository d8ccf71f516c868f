package dev.ckptwarden.sim;

import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.daemon.Agent;
import dev.ckptwarden.daemon.AgentDriver;
import dev.ckptwarden.enforce.AuditLog;
import dev.ckptwarden.enforce.AuditRecord;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.export.AgentMetrics;
import dev.ckptwarden.export.DiskResolver;
import dev.ckptwarden.offload.FaultyTcpProxy;
import dev.ckptwarden.registry.Lease;
import dev.ckptwarden.registry.PostgresRegistry;
import dev.ckptwarden.registry.PostgresServer;
import dev.ckptwarden.registry.Registry;
import dev.ckptwarden.registry.SimulatedLeases;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.testing.MutableClock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Plays one {@link Schedule} against a real agent (in process, passes driven by hand, an injected
 * clock) on a real directory tree, and checks the contract's invariants after every agent pass:
 * resolve answers only with what the writer model says is a complete save still on disk; the agent
 * removes only complete, unpinned saves that are not their run's newest or highest step, only inside
 * the root, and audits each removal; after a quiet end the registry equals the disk and retention has
 * converged.
 *
 * <p>In cluster mode two agents (A and B) share the tree and one PostgreSQL database, A's connections through a
 * proxy that can cut them mid-pass; only the lease holder deletes. Then also: no checkpoint is evicted twice, a
 * holder overtaken while paused begins no eviction when it wakes, and nothing is left in a trash at the quiet end.
 */
final class Simulation implements AutoCloseable {
    private static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");
    private static final Duration SETTLE = Duration.ofSeconds(10);

    private final Schedule schedule;
    private final Path dir;
    private final Path root;
    private final Path outside;
    private final Path state;
    private final Path configFile;
    private final MutableClock clock = new MutableClock(T0);
    /** The tmpfs mounts holding the root and state_dir (null: not mounted), and whether the former is full now. */
    private final Path rootFs;
    private final Path stateFs;
    private boolean diskFull;
    /** Faults that could not be injected here, by kind and why (e.g. no mount), for the campaign's report. */
    final Map<String, String> skipped = new java.util.TreeMap<>();
    /** Faults that took effect, by kind, where a schedule's fault may miss (a cut armed past the pass's traffic). */
    final Map<String, Integer> effective = new java.util.TreeMap<>();

    private Config config;
    private Registry registry;
    private AuditLog audit;
    private Agent agent;
    private AgentMetrics metrics;
    private int passes;

    /** Cluster mode: the lease lasts longer than any schedule; it runs out only where the schedule pauses a holder. */
    private static final Duration LEASE = Duration.ofHours(1);
    /** How long a paused holder stays frozen, by the agents' clock (its lease runs out by the database's). */
    private static final Duration PAUSE = Duration.ofSeconds(45);
    private final boolean cluster;
    /** Cluster mode: the database, A's way to it (cut-able), and the second agent; null for one agent. */
    private PostgresServer server;
    private String url;
    private FaultyTcpProxy network;
    private Lease leaseA;
    private Lease leaseB;
    private PostgresRegistry registryB;
    private AuditLog auditB;
    private Agent agentB;
    private AgentMetrics metricsB;
    /** How many times agent A was started: a restarted process is a new lease holder. */
    private int generation;

    /** What the writers did to each save: steps applied, whether complete, when, and whether it is still there. */
    private final int[] done;
    private final long[] completedSeq;
    private final boolean[] onDisk;
    private final boolean[] pinned;
    private final boolean[] removedByWriter;
    private final boolean[] removedByAgent;
    /** Saves whose writer has begun removing them behind a marker (NeMo's rotation): no answer may name them any more. */
    private final boolean[] removing;
    /** Which check found each save removed by the agent: saves removed in one pass were all present when it planned. */
    private final long[] removedInCheck;
    private long checks;
    private long seq;
    /** Every path a writer made and has not moved or removed itself, and the save it belongs to. */
    private final Map<Path, Integer> created = new HashMap<>();

    Simulation(Schedule schedule, Path dir) throws IOException {
        this(schedule, dir, false);
    }

    /** @param cluster two agents on the tree and one PostgreSQL database (skips the calling test without one) */
    Simulation(Schedule schedule, Path dir, boolean cluster) throws IOException {
        this.schedule = schedule;
        this.cluster = cluster;
        this.dir = dir;
        boolean diskFaults = schedule.steps().stream().anyMatch(st -> st instanceof Schedule.Step.DiskFull);
        boolean stateFaults = schedule.steps().stream().anyMatch(st -> st instanceof Schedule.Step.StateFull);
        // ENOSPC is real: the checkpoint file system and state_dir are small tmpfs mounts when the schedule fills them.
        this.rootFs = diskFaults ? TinyFileSystem.mount(Files.createDirectories(dir.resolve("fs"))) : null;
        this.root = Files.createDirectories((rootFs != null ? rootFs : dir).resolve("root")).toRealPath();
        this.outside = Files.createDirectories(dir.resolve("outside")).toRealPath();
        this.state = dir.resolve("state");
        this.stateFs = stateFaults ? TinyFileSystem.mount(Files.createDirectories(state)) : null;
        int n = schedule.saves().size();
        done = new int[n];
        completedSeq = new long[n];
        onDisk = new boolean[n];
        pinned = new boolean[n];
        removedByWriter = new boolean[n];
        removedByAgent = new boolean[n];
        removing = new boolean[n];
        removedInCheck = new long[n];
        // Bait outside the root, and a link to it from inside: neither may ever be touched.
        Files.writeString(outside.resolve("victim.ckpt"), "not yours");
        Path firstRun = Files.createDirectories(root.resolve(schedule.saves().isEmpty() ? "empty"
                : schedule.saves().get(0).run()));
        Files.createSymbolicLink(firstRun.resolve("epoch=99-step=99999.ckpt"), outside.resolve("victim.ckpt"));
        configFile = dir.resolve("ckpt-warden.yaml");
        String clusterKeys = "";
        if (cluster) {
            server = PostgresServer.shared();
            url = server.freshDatabase();
            network = new FaultyTcpProxy(server.port());
            clusterKeys = "  registry_url: " + url + "\n  cluster: true\n";
        }
        Files.writeString(configFile, configText(state, clusterKeys));
        if (cluster) {
            Path fileB = dir.resolve("ckpt-warden-b.yaml");
            Files.writeString(fileB, configText(dir.resolve("state-b"), clusterKeys));
            registryB = PostgresRegistry.open(url, server.env(), clock);
            auditB = AuditLog.open(dir.resolve("state-b"));
            metricsB = new AgentMetrics("sim");
            agentB = new Agent(load(fileB), fileB, Map.of(), registryB, new Enforcer(registryB, auditB), metricsB, clock);
            leaseB = SimulatedLeases.frozen(registryB, "host-b:1:t0", LEASE);
            agentB.coordinateWith(leaseB);
        }
        start();
        if (cluster) {
            AgentDriver.renew(agentB); // A took the lease first: B registers and does not delete
            AgentDriver.startup(agentB);
            passes++;
        }
    }

    private String configText(Path stateDir, String clusterKeys) {
        return """
                agent:
                  state_dir: %s
                  listen: 127.0.0.1:0
                  reconcile_interval: 1h
                  settle_time: %ds
                %sroots:
                  - path: %s
                    retention:
                      keep_last: %d
                    action: delete
                """.formatted(stateDir, SETTLE.toSeconds(), clusterKeys, root, Schedule.KEEP_LAST);
    }

    private static Config load(Path file) throws IOException {
        try {
            return ConfigLoader.load(file, Map.of());
        } catch (dev.ckptwarden.config.ConfigException e) {
            throw new IOException(e);
        }
    }

    /** The registry the oracle, pins and resolve use: in cluster mode B's, whose way to the database is never cut. */
    private Registry shared() {
        return cluster ? registryB : registry;
    }

    private void start() throws IOException {
        Config cfg = load(configFile);
        config = cfg;
        PostgresRegistry viaNetwork = null;
        if (cluster) {
            viaNetwork = PostgresRegistry.open(url.replace(":" + server.port() + "/", ":" + network.port() + "/"),
                    server.env(), clock);
            registry = viaNetwork;
        } else {
            registry = SqliteRegistry.open(state);
        }
        audit = AuditLog.open(state);
        metrics = new AgentMetrics("sim");
        agent = new Agent(cfg, configFile, Map.of(), registry, new Enforcer(registry, audit), metrics, clock);
        if (cluster) {
            // A restarted agent is another process: another holder, which takes the lease only if it is free.
            leaseA = SimulatedLeases.frozen(viaNetwork, "host-a:" + ++generation + ":t0", LEASE);
            agent.coordinateWith(leaseA);
            AgentDriver.renew(agent);
        }
        AgentDriver.startup(agent);
        passes++;
    }

    private void stop() throws IOException {
        agent.close();
        audit.close();
        registry.close();
        metrics.close();
    }

    /** Plays the schedule; returns the first violation, naming the step after which it was seen. */
    Optional<String> play() throws IOException {
        List<Schedule.Step> steps = schedule.steps();
        for (int i = 0; i < steps.size(); i++) {
            Schedule.Step s = steps.get(i);
            String v = apply(s);
            if (v == null) {
                v = checkResolve(); // a training job may ask at any moment, not only after a pass
            }
            if (v != null) {
                return Optional.of("after step " + i + " (" + s + "): " + v);
            }
        }
        if (diskFull) {
            TinyFileSystem.free(rootFs);
            diskFull = false;
        }
        clock.advance(Duration.ofHours(2));
        if (cluster) {
            AgentDriver.renew(agent);
            AgentDriver.renew(agentB);
            AgentDriver.periodic(agentB);
            passes++;
        }
        AgentDriver.periodic(agent);
        AgentDriver.periodic(agent);
        passes += 2;
        if (cluster) {
            AgentDriver.periodic(agentB);
            passes++;
        }
        String v = checkPass();
        if (v == null) {
            v = checkQuiet();
        }
        if (v == null) {
            v = checkTrashEmpty();
        }
        return Optional.ofNullable(v).map(m -> "after the quiet end: " + m);
    }

    private String apply(Schedule.Step step) throws IOException {
        if (step instanceof Schedule.Step.Writer w) {
            write(w);
        } else if (step instanceof Schedule.Step.Advance a) {
            clock.advance(Duration.ofSeconds(a.seconds()));
        } else if (step instanceof Schedule.Step.EventPass e) {
            AgentDriver.event(agent, root.toString(), root.resolve(e.run()), ++passes);
            return checkPass();
        } else if (step instanceof Schedule.Step.PeriodicPass) {
            AgentDriver.periodic(agent);
            passes++;
            return checkPass();
        } else if (step instanceof Schedule.Step.Restart) {
            stop();
            start();
            return checkPass();
        } else if (step instanceof Schedule.Step.Pin p) {
            pin(p.pick());
        } else if (step instanceof Schedule.Step.UserRemove u) {
            userRemove(u.pick());
        } else if (step instanceof Schedule.Step.Commit c) {
            if (complete(c.save())) {
                write(new Schedule.Step.Writer(-1, c.op()));
            }
        } else if (step instanceof Schedule.Step.Pause p) {
            clock.advance(Duration.ofSeconds(p.seconds()));
        } else if (step instanceof Schedule.Step.ClockJump j) {
            clock.set(clock.instant().plusSeconds(j.seconds()));
        } else if (step instanceof Schedule.Step.RemoveRun r) {
            removeRun(r.run());
        } else if (step instanceof Schedule.Step.Unreadable u) {
            return unreadable(u.run());
        } else if (step instanceof Schedule.Step.RootAway a) {
            return rootAway(a.passes());
        } else if (step instanceof Schedule.Step.DiskFull) {
            if (rootFs == null) {
                skipped.put("ENOSPC on the checkpoint file system", TinyFileSystem.why());
            } else if (!diskFull) {
                TinyFileSystem.fill(rootFs);
                diskFull = true;
            }
        } else if (step instanceof Schedule.Step.DiskFree) {
            if (diskFull) {
                TinyFileSystem.free(rootFs);
                diskFull = false;
            }
        } else if (step instanceof Schedule.Step.StateFull) {
            if (stateFs == null) {
                skipped.put("ENOSPC on state_dir", TinyFileSystem.why());
                return null;
            }
            TinyFileSystem.fill(stateFs);
            try {
                AgentDriver.periodic(agent);
                passes++;
            } finally {
                TinyFileSystem.free(stateFs);
            }
            return checkPass();
        } else if (step instanceof Schedule.Step.OtherPass) {
            if (cluster) {
                AgentDriver.periodic(agentB);
                passes++;
                return checkPass();
            }
        } else if (step instanceof Schedule.Step.Renew r) {
            if (cluster) {
                AgentDriver.renew(r.agent() == 0 ? agent : agentB);
            }
        } else if (step instanceof Schedule.Step.DatabaseCut c) {
            if (cluster) {
                network.cutAfter(c.bytes());
                try {
                    AgentDriver.periodic(agent);
                    passes++;
                    if (network.wasCut()) {
                        effective.merge("database unreachable mid-pass: cut inside A's pass", 1, Integer::sum);
                    }
                } finally {
                    network.heal();
                }
                return checkPass();
            }
        } else if (step instanceof Schedule.Step.HolderPaused) {
            if (cluster) {
                return holderPaused();
            }
        } else if (step instanceof Schedule.Step.Overflow) {
            AgentDriver.overflow(agent, root.toString(), ++passes);
            return checkPass();
        } else if (step instanceof Schedule.Step.Flood f) {
            List<Path> dirs = new ArrayList<>();
            try (var walk = Files.walk(root, 2)) {
                walk.filter(Files::isDirectory).forEach(dirs::add);
            }
            AgentDriver.flood(agent, root.toString(), dirs, f.events(), ++passes);
            return checkPass();
        }
        return null;
    }

    /**
     * {@code chmod 000} on a run directory for one periodic pass, asking resolve meanwhile; the mode is restored
     * before the answers and the disk are judged. As root (CAP_DAC_OVERRIDE) the mode binds nobody: the fault is
     * injected but has no effect, and the campaign says so.
     */
    private String unreadable(String run) throws IOException {
        Path d = root.resolve(run);
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        if (!TinyFileSystem.permissionsBind()) {
            skipped.put("unreadable directory", "running with CAP_DAC_OVERRIDE (root): chmod 000 binds nobody; "
                    + "bench/sim-campaign.sh drops the capability");
        }
        var mode = Files.getPosixFilePermissions(d);
        List<Answer> answers;
        Files.setPosixFilePermissions(d, java.util.EnumSet.noneOf(java.nio.file.attribute.PosixFilePermission.class));
        try {
            AgentDriver.periodic(agent);
            passes++;
            answers = resolveAll();
        } finally {
            Files.setPosixFilePermissions(d, mode);
        }
        String v = judge(answers);
        return v != null ? v + " (asked while " + run + " was unreadable)" : checkPass();
    }

    /**
     * The lease holder is frozen past its lease (its lease runs out by the database's clock), the other agent takes
     * it over, then the frozen one wakes still believing it holds the lease (its own clock stood still) and runs a
     * pass: the fencing check must stop it from beginning any eviction. Then the new holder passes.
     */
    private String holderPaused() throws IOException {
        boolean aHolds = leaseA.held();
        if (!aHolds && !leaseB.held()) {
            return null;
        }
        Agent paused = aHolds ? agent : agentB;
        Agent other = aHolds ? agentB : agent;
        AuditLog pausedLog = aHolds ? audit : auditB;
        // Paused for longer than a lease (30 s by default): saves finished before the pause have settled by its end.
        clock.advance(PAUSE);
        SimulatedLeases.expireNow(server, url);
        AgentDriver.renew(other);
        // It wakes before the new holder's first pass: what it would evict is still there to evict.
        long before = begins(pausedLog);
        effective.merge("lease holder paused and overtaken: woke after a takeover", 1, Integer::sum);
        AgentDriver.periodic(paused);
        passes++;
        long after = begins(pausedLog);
        if (after > before) {
            return "agent " + (aHolds ? "A" : "B") + ", paused past its lease and overtaken, began " + (after - before)
                    + " eviction(s) when it woke";
        }
        String v = checkPass();
        if (v != null) {
            return v;
        }
        AgentDriver.renew(paused); // and learns that it lost the lease
        AgentDriver.periodic(other);
        passes++;
        return checkPass();
    }

    private static long begins(AuditLog log) throws IOException {
        return Files.exists(log.file())
                ? AuditLog.read(log.file()).stream().filter(r -> r.phase().equals(AuditRecord.BEGIN)).count() : 0;
    }

    /** The root is renamed away (as an unmount would hide it) for some passes, then comes back. */
    private String rootAway(int n) throws IOException {
        Path away = root.resolveSibling(root.getFileName() + ".away");
        Files.move(root, away, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        try {
            for (int i = 0; i < n; i++) {
                clock.advance(Duration.ofSeconds(5));
                AgentDriver.periodic(agent);
                passes++;
                for (Answer a : resolveAll()) {
                    return "resolve --run " + a.run() + " latest" + (a.resumable() ? " --resumable" : "") + " answered "
                            + a.path() + " while the root is gone";
                }
            }
        } finally {
            Files.move(away, root, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        AgentDriver.periodic(agent);
        passes++;
        return checkPass();
    }

    /** A user removes a run directory whole; saves in it that were still being written can never complete. */
    private void removeRun(String run) throws IOException {
        Path d = root.resolve(run);
        if (!Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        SaveProtocols.Op rm = new SaveProtocols.Op.Remove(Path.of(run));
        applyOp(rm);
        track(rm, -1);
        for (int k = 0; k < onDisk.length; k++) {
            if (!schedule.saves().get(k).run().equals(run)) {
                continue;
            }
            if (onDisk[k]) {
                onDisk[k] = false;
                removedByWriter[k] = true;
            }
            if (!complete(k) && done[k] > 0) {
                done[k] = -1_000;
            }
        }
    }

    private void write(Schedule.Step.Writer w) throws IOException {
        // Every write happens a second after the last: real saves never share a modification time, and a
        // shrunk schedule (without its clock steps) must not make two saves indistinguishable by time.
        clock.advance(Duration.ofSeconds(1));
        SaveProtocols.Op op = w.op();
        if (w.save() >= 0 && done[w.save()] < 0) {
            return; // that save already failed (ENOSPC, its run removed, a step that could not happen): the job gave it up
        }
        boolean applied;
        try {
            applied = applyOp(op);
        } catch (NoSuchFileException | java.nio.file.FileAlreadyExistsException impossible) {
            applied = false; // a step whose earlier steps were shrunk away, or whose save the agent removed
        } catch (IOException e) {
            if (!diskFull) {
                throw e;
            }
            // ENOSPC: the framework's save raises and leaves what it wrote so far; that save never completes.
            applied = false;
            Path touched = op instanceof SaveProtocols.Op.Write wr ? root.resolve(wr.file())
                    : op instanceof SaveProtocols.Op.Mkdir m ? root.resolve(m.dir()) : null;
            if (touched != null && Files.exists(touched, LinkOption.NOFOLLOW_LINKS)) {
                created.put(touched, w.save());
                // The failed write still changed the file (created, maybe part-written) at the simulated now.
                Files.setLastModifiedTime(touched, FileTime.from(clock.instant()));
            }
        }
        if (w.save() < 0) {
            if (applied) {
                track(op, -1);
            }
            if (applied && op instanceof SaveProtocols.Op.Write wr) {
                for (int k = 0; k < schedule.saves().size(); k++) {
                    if (wr.file().equals(SaveProtocols.nemoMarker(schedule.saves().get(k).path())) && done[k] != 0) {
                        removing[k] = true; // NeMo's _remove_checkpoint marks the save unfinished before rmtree
                    }
                }
            }
            if (op instanceof SaveProtocols.Op.Remove rm) {
                for (int k = 0; k < schedule.saves().size(); k++) {
                    // A save not begun yet is not what was removed (a resumed job saving the same step again).
                    if (done[k] != 0 && root.resolve(schedule.saves().get(k).path()).equals(root.resolve(rm.path()))) {
                        onDisk[k] = false;
                        removedByWriter[k] = true;
                    }
                }
            }
            return;
        }
        if (applied) {
            track(op, w.save());
        }
        int k = w.save();
        if (!applied) {
            done[k] = -1_000; // never complete
            return;
        }
        done[k]++;
        Path finalPath = root.resolve(schedule.saves().get(k).path());
        if (Files.exists(finalPath, LinkOption.NOFOLLOW_LINKS) && !removedByWriter[k]) {
            onDisk[k] = true;
        }
        if (done[k] == schedule.saves().get(k).ops()) {
            completedSeq[k] = ++seq;
        }
    }

    /** Keeps {@link #created} in step with what the writers did. */
    private void track(SaveProtocols.Op op, int save) {
        SaveProtocols.track(created, root, op, save);
    }

    private boolean applyOp(SaveProtocols.Op op) throws IOException {
        return SaveProtocols.apply(root, op, FileTime.from(clock.instant()));
    }

    private String pin(int pick) {
        List<Integer> candidates = new ArrayList<>();
        for (int k = 0; k < onDisk.length; k++) {
            if (onDisk[k] && complete(k) && !pinned[k]) {
                candidates.add(k);
            }
        }
        if (candidates.isEmpty()) {
            return null;
        }
        int k = candidates.get(pick % candidates.size());
        // As `ckpt-warden pin` does: only a registered checkpoint can be pinned.
        if (shared().pin(root.resolve(schedule.saves().get(k).path()).toString(), true, "sim")) {
            pinned[k] = true;
        }
        return null;
    }

    /** A user removes a complete checkpoint by hand ({@code rm -rf}), as the agent would have. */
    private void userRemove(int pick) throws IOException {
        List<Integer> candidates = new ArrayList<>();
        for (int k = 0; k < onDisk.length; k++) {
            if (onDisk[k] && complete(k)) {
                candidates.add(k);
            }
        }
        if (candidates.isEmpty()) {
            return;
        }
        int k = candidates.get(pick % candidates.size());
        SaveProtocols.Op rm = new SaveProtocols.Op.Remove(schedule.saves().get(k).path());
        if (applyOp(rm)) {
            track(rm, k);
            onDisk[k] = false;
            removedByWriter[k] = true;
        }
    }

    private boolean complete(int k) {
        return done[k] == schedule.saves().get(k).ops();
    }

    /** The invariants that hold after every pass. */
    private String checkPass() throws IOException {
        checks++;
        if (!Files.isRegularFile(outside.resolve("victim.ckpt"))) {
            return "a file outside the root was removed";
        }
        // What vanished without its writer removing it was removed by the agent: was that allowed?
        Map<String, Long> newestByRun = new HashMap<>();
        Map<String, Long> highestByRun = new HashMap<>();
        for (int k = 0; k < onDisk.length; k++) {
            if (onDisk[k] && complete(k)) {
                Schedule.SaveInfo s = schedule.saves().get(k);
                newestByRun.merge(s.run(), completedSeq[k], Math::max);
                highestByRun.merge(s.run(), s.step(), Math::max);
            }
        }
        for (int k = 0; k < onDisk.length; k++) {
            Schedule.SaveInfo s = schedule.saves().get(k);
            Path p = root.resolve(s.path());
            if (!onDisk[k] || Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            onDisk[k] = false;
            removedByAgent[k] = true;
            removedInCheck[k] = checks;
            if (!complete(k)) {
                return "the agent removed " + s.path() + ", a save still being written (" + done[k] + " of " + s.ops()
                        + " steps)";
            }
            if (pinned[k]) {
                return "the agent removed the pinned " + s.path();
            }
            if (completedSeq[k] == newestByRun.get(s.run())) {
                return "the agent removed " + s.path() + ", the most recently completed save of " + s.run();
            }
            if (s.step() == highestByRun.get(s.run()) && completedSeq[k] == newestOfStep(s.run(), s.step())) {
                // Of several saves of the highest step (a resumed job saving a step again), the newest is protected.
                return "the agent removed " + s.path() + ", the save with the highest step of " + s.run();
            }
            if (amongLast(k)) {
                return "the agent removed " + s.path() + ", one of the " + Schedule.KEEP_LAST
                        + " most recently completed saves of " + s.run() + " that keep_last keeps";
            }
            String audited = audited(p);
            if (audited != null) {
                return audited;
            }
        }
        // Nothing a writer made vanishes unless the writer moved or removed it, or it belongs to a save the
        // agent was allowed to remove (checked above): staging directories and temp files included.
        for (Map.Entry<Path, Integer> e : created.entrySet()) {
            if (Files.exists(e.getKey(), LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            int k = e.getValue();
            if (k >= 0 && removedByAgent[k] && e.getKey().startsWith(root.resolve(schedule.saves().get(k).path()))) {
                continue;
            }
            if (k < 0 && insideRemovedSave(e.getKey())) {
                continue; // written into a save after it completed (Orbax's commit_success.txt): it went with the save
            }
            return "the agent removed " + root.relativize(e.getKey()) + (k < 0 ? "" : ", part of save " + k + " ("
                    + Math.max(0, done[k]) + " of " + schedule.saves().get(k).ops() + " steps done)");
        }
        return checkResolve();
    }

    /**
     * resolve latest (and --resumable), as the CLI answers it (its own reconciler on the shared registry),
     * names a complete save that is on disk, per the writer model.
     */
    private String checkResolve() {
        return judge(resolveAll());
    }

    /** One answer of {@code resolve --run RUN latest [--resumable]}. */
    private record Answer(String run, boolean resumable, Path path) {
    }

    private List<Answer> resolveAll() {
        Set<String> runs = new java.util.TreeSet<>();
        schedule.saves().forEach(s -> runs.add(s.run()));
        DiskResolver resolver = new DiskResolver(shared(), new Reconciler(shared(), clock));
        List<Answer> out = new ArrayList<>();
        for (String run : runs) {
            for (boolean resumable : new boolean[]{false, true}) {
                Registered answer = resolver.resolve(config, null, run, "latest", resumable, null, false).checkpoint();
                if (answer != null) {
                    out.add(new Answer(run, resumable, answer.path()));
                }
            }
        }
        return out;
    }

    /** Each answer names a complete save that is on disk, per the writer model. */
    private String judge(List<Answer> answers) {
        for (Answer a : answers) {
            Path p = a.path();
            String asked = "resolve --run " + a.run() + " latest" + (a.resumable() ? " --resumable" : "");
            int k = saveAt(p);
            if (k < 0) {
                return asked + " answered " + p + ", which no writer saved";
            }
            if (!complete(k)) {
                return asked + " answered " + p + ", a save still being written (" + Math.max(0, done[k]) + " of "
                        + schedule.saves().get(k).ops() + " steps)";
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return asked + " answered " + p + ", which is gone from disk";
            }
            if (removing[k]) {
                return asked + " answered " + p + ", which its writer is removing (an -unfinished marker beside it)";
            }
        }
        return null;
    }

    private boolean insideRemovedSave(Path p) {
        for (int k = 0; k < onDisk.length; k++) {
            if (removedByAgent[k] && p.startsWith(root.resolve(schedule.saves().get(k).path()))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether save {@code k} (just removed) was among the {@link Schedule#KEEP_LAST} most recently completed saves of
     * its run that were on disk: keep_last keeps those, whatever else happens.
     */
    private boolean amongLast(int k) {
        String run = schedule.saves().get(k).run();
        int newer = 0;
        for (int j = 0; j < onDisk.length; j++) {
            if (j != k && (onDisk[j] || removedInCheck[j] == checks) && complete(j) && schedule.saves().get(j).run().equals(run)
                    && completedSeq[j] > completedSeq[k]) {
                newer++;
            }
        }
        return newer < Schedule.KEEP_LAST;
    }

    /** The completion sequence of the most recently completed save of {@code run} at {@code step} still on disk. */
    private long newestOfStep(String run, long step) {
        long newest = -1;
        for (int k = 0; k < onDisk.length; k++) {
            Schedule.SaveInfo s = schedule.saves().get(k);
            if ((onDisk[k] || removedByAgent[k]) && complete(k) && s.run().equals(run) && s.step() == step) {
                newest = Math.max(newest, completedSeq[k]);
            }
        }
        return newest;
    }

    private String audited(Path p) throws IOException {
        List<AuditRecord> records = new ArrayList<>();
        for (Path log : cluster ? List.of(state, dir.resolve("state-b")) : List.of(state)) {
            Path file = log.resolve(AuditLog.FILE_NAME);
            if (Files.exists(file)) {
                records.addAll(AuditLog.read(file));
            }
        }
        // An attempt that ended failed or skipped (and never ok: recovery may finish a failed one) removed
        // nothing: a full disk fails an eviction that a later pass retries with a new begin line.
        Set<String> removedNothing = new HashSet<>();
        Set<String> mayHaveRemoved = new HashSet<>();
        for (AuditRecord r : records) {
            if (r.phase().equals(AuditRecord.END) && p.toString().equals(r.path())) {
                boolean nothing = r.outcome() != null && (r.outcome().startsWith("failed:") || r.outcome().startsWith("skipped:"));
                (nothing ? removedNothing : mayHaveRemoved).add(r.eviction());
            }
        }
        removedNothing.removeAll(mayHaveRemoved);
        long begins = records.stream().filter(r -> r.phase().equals(AuditRecord.BEGIN) && p.toString().equals(r.path())
                && !removedNothing.contains(r.eviction())).count();
        boolean end = records.stream().anyMatch(r -> r.phase().equals(AuditRecord.END) && p.toString().equals(r.path()));
        if (begins > 1) {
            return p + " was evicted twice (" + begins + " audit begin lines" + (cluster ? " in the two agents' logs)" : ")");
        }
        return begins == 1 && end ? null : "the removal of " + p + " has no audit " + (begins == 1 ? "end" : "begin")
                + " line";
    }

    /** Once the agents are quiet, every eviction has finished: a root's trash holds nothing but its own files. */
    private String checkTrashEmpty() throws IOException {
        Path trash = root.resolve(Cataloger.TRASH_DIR);
        if (!Files.isDirectory(trash, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        try (var entries = Files.list(trash)) {
            return entries.filter(e -> !e.getFileName().toString().startsWith(".")).findFirst()
                    .map(e -> "the trash still holds " + trash.relativize(e) + " once the agents are quiet").orElse(null);
        }
    }

    private int saveAt(Path p) {
        for (int k = 0; k < onDisk.length; k++) {
            if (root.resolve(schedule.saves().get(k).path()).equals(p) && (onDisk[k] || !removedByWriter[k])) {
                return k;
            }
        }
        return -1;
    }

    /** After writers stop and time passes: the registry equals the disk, and retention has converged. */
    private String checkQuiet() {
        Map<String, Registered> present = shared().present(root.toString());
        for (String path : present.keySet()) {
            if (!Files.exists(Path.of(path), LinkOption.NOFOLLOW_LINKS)) {
                return "the registry lists " + path + " as present; it is not on disk";
            }
        }
        Map<String, List<Integer>> byRun = new HashMap<>();
        for (int k = 0; k < onDisk.length; k++) {
            Schedule.SaveInfo s = schedule.saves().get(k);
            if (!onDisk[k] || removing[k]) {
                continue; // one its writer was removing when the schedule ended (or shrinking cut it short) is neither
            }
            Registered row = present.get(root.resolve(s.path()).toString());
            if (complete(k) && (row == null || row.state() != CheckpointState.COMPLETE)) {
                return s.path() + " is complete and on disk but registered as " + (row == null ? "nothing" : row.state().id());
            }
            if (pinned[k] && (row == null || !row.pinned())) {
                return "the pin on " + s.path() + " was lost";
            }
            if (complete(k)) {
                byRun.computeIfAbsent(s.run(), r -> new ArrayList<>()).add(k);
            }
        }
        for (List<Integer> ks : byRun.values()) {
            List<Integer> newestFirst = new ArrayList<>(ks);
            newestFirst.sort(Comparator.comparingLong((Integer k) -> completedSeq[k]).reversed());
            long highest = ks.stream().mapToLong(k -> schedule.saves().get(k).step()).max().orElse(-1);
            int highestNewest = newestFirst.stream().filter(k -> schedule.saves().get(k).step() == highest).findFirst()
                    .orElse(-1);
            for (int i = Schedule.KEEP_LAST; i < newestFirst.size(); i++) {
                int k = newestFirst.get(i);
                if (!pinned[k] && k != highestNewest) {
                    return "retention did not converge: " + schedule.saves().get(k).path() + " is kept by no rule (keep_last "
                            + Schedule.KEEP_LAST + " by completion) but still on disk";
                }
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        stop();
        if (cluster) {
            agentB.close();
            auditB.close();
            registryB.close();
            metricsB.close();
            network.close();
        }
        if (stateFs != null) {
            TinyFileSystem.unmount(stateFs);
        }
        if (rootFs != null) {
            TinyFileSystem.unmount(rootFs);
        }
        SaveProtocols.deleteTree(dir);
    }
}
