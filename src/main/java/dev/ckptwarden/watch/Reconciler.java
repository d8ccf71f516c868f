package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.catalog.TreeReader;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.errors.ErrorLine;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.registry.PresentRuns;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Reconcile passes over a root: walk it, recognise every checkpoint, inspect only what is new or changed
 * (an unchanged tree costs one stat per entry), judge states, and bring the registry in line, marking
 * what vanished as deleted. The periodic reconcile is the source of truth; watch events only make it
 * come sooner.
 *
 * <p>A pass streams run directory by run directory ({@link RootPass}): catalog, diff against that run's
 * registry rows, register, let go. The registry is the memory: between passes this reconciler keeps a
 * fingerprint per run directory ({@link RootMemory}), never a checkpoint. Owns its header-reading threads:
 * {@link #close()} stops them.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    /** A scoped pass that would touch more directories than this is a full pass instead. */
    static final int MAX_SCOPE = 256;

    private final Registry registry;
    private final Clock clock;
    private final RemoteReconciler remote;
    /**
     * Threads that read checkpoint headers, at most one per core (up to 4); created when a pass needs one
     * and ended after a minute idle, so an idle agent keeps none.
     */
    private final ThreadPoolExecutor inspectors;
    private final RunSettler settler;
    /** Per root name, what the last passes left to go on; replaced when another process wrote to the registry. */
    private final Map<String, RootMemory> memory = new ConcurrentHashMap<>();
    private final RootReachability reachability = new RootReachability();
    /** Per local root, the device its checkpoints were last seen on: when an empty root is to be trusted. */
    private volatile RootDevices devices = new RootDevices();
    /** Held by every pass that writes the registry, so that a run looked at on request never writes beside one. */
    private final ReentrantLock passes = new ReentrantLock();

    public Reconciler(Registry registry, Clock clock) {
        this(registry, clock, RemoteSettings::fromEnvironment);
    }

    /** @param remoteSettings how remote roots are reached; asked only when a remote root is reconciled */
    public Reconciler(Registry registry, Clock clock, Supplier<RemoteSettings> remoteSettings) {
        this.registry = registry;
        this.clock = clock;
        this.remote = new RemoteReconciler(remoteSettings);
        this.inspectors = RunSettler.newInspectors();
        this.settler = new RunSettler(registry, inspectors);
    }

    /** Keeps each local root's device in {@code stateDir} ({@link RootDevices}); call before the first pass. */
    public void keepRootDevicesIn(Path stateDir) {
        devices = RootDevices.keptIn(stateDir);
    }

    /** Stops the header-reading threads; a pass started afterwards fails. */
    @Override
    public void close() {
        inspectors.shutdownNow();
    }

    /** Reconciles every root of the configuration, one after another. */
    public List<RootScan> reconcileAll(Config config) {
        List<RootScan> out = new ArrayList<>();
        for (RootConfig root : config.roots()) {
            out.add(reconcile(config, root));
        }
        return out;
    }

    /**
     * A root as the registry last saw it, without looking at it: for passes that need not poll a remote
     * root (local watch events say nothing about it). Not reachable (nothing looked at, nothing to enforce).
     */
    public RootScan registered(RootConfig root) {
        Path path = root.isLocal() ? root.localPath() : RemoteLocation.path(root.path());
        return new RootScan(root.name(), path, false, registryView(root), List.of(), 0, 0, 0, Duration.ZERO);
    }

    public RootScan reconcile(Config config, RootConfig root) {
        passes.lock();
        try {
            return fullPass(config, root);
        } finally {
            passes.unlock();
        }
    }

    private RootScan fullPass(Config config, RootConfig root) {
        Instant now = clock.instant();
        long started = System.nanoTime();
        List<ScanProblem> problems = new ArrayList<>();
        Duration settleTime = config.agent().settleTime();
        if (!root.isLocal()) {
            return remote.reconcile(root, cataloger(root), problems, walk -> {
                if (!walk.reachable()) {
                    reachability.unreachable(root, root.path(), problems.isEmpty() ? "not reachable"
                            : problems.get(problems.size() - 1).message(), now);
                    return unreachable(root, walk.rootDir(), problems, started);
                }
                reachability.reachable(root, root.path(), now);
                RootPass pass = new RootPass(registry, settler, root, walk.rootDir(), walk.source(),
                        memoryFor(root, walk.rootDir()), settleTime, now, problems);
                Map<Path, List<Candidate>> byRun = new LinkedHashMap<>();
                walk.candidates().forEach(c -> byRun.computeIfAbsent(c.runDir(), k -> new ArrayList<>()).add(c));
                byRun.forEach((runDir, candidates) -> pass.run(runDir, candidates, walk.unscanned()));
                // An object store has no mounts to tell apart: an empty prefix is never taken as a deletion.
                return pass.finish(walk.unscanned(), walk.entries(), started,
                        "an empty remote root is not taken as evidence of deletion");
            });
        }
        // Checkpoints are reported under the root as the user configured it (a root given through a
        // symbolic link keeps that spelling); the link is resolved here only to check that it leads to a
        // directory. Nothing below the root is followed (the walk lists with lstat).
        Path rootDir = root.localPath();
        try {
            if (!Files.isDirectory(rootDir.toRealPath())) {
                throw new NotDirectoryException(rootDir.toString());
            }
        } catch (IOException e) {
            problems.add(new ScanProblem(root.name(), rootDir, ErrorLine.reason(e)));
            reachability.unreachable(root, rootDir.toString(), ErrorLine.reason(e), now);
            return unreachable(root, rootDir, problems, started);
        }
        reachability.reachable(root, rootDir.toString(), now);
        RootMemory m = memoryFor(root, rootDir);
        RootPass pass = new RootPass(registry, settler, root, rootDir, FileSource.LOCAL, m, settleTime, now, problems);
        RootDevice before = RootDevice.of(rootDir);
        TreeReader reader = new TreeReader((p, msg) -> problems.add(new ScanProblem(root.name(), p, msg)));
        TreeWalk.Walked w = TreeWalk.walk(rootDir, reader, reader::forget, cataloger(root),
                (dir, e) -> problems.add(new ScanProblem(root.name(), dir, ErrorLine.reason(e))),
                (dir, found) -> pass.run(dir, found.candidates(), found.descendInto()));
        // Read before and after the walk: a file system mounted or unmounted meanwhile leaves it unknown.
        RootDevice device = RootDevices.during(before, RootDevice.of(rootDir));
        RootScan scan = pass.finish(w.unscanned(), reader.entriesRead(), started, devices.distrust(root, rootDir, device));
        devices.afterPass(root, rootDir, pass.sawCheckpoints(), device);
        m.examined = w.listed();
        return scan;
    }

    private RootScan unreachable(RootConfig root, Path rootDir, List<ScanProblem> problems, long started) {
        return new RootScan(root.name(), rootDir, false, registryView(root), problems, 0, 0, 0,
                Duration.ofNanos(System.nanoTime() - started));
    }

    /**
     * This reconciler's memory of a root, or a fresh one when there is none, the root moved, or another
     * process wrote to the registry since (a counter of -1 means that cannot be told: never trusted).
     */
    private RootMemory memoryFor(RootConfig root, Path rootDir) {
        long version = registry.externalChangeCounter();
        RootMemory m = memory.get(root.name());
        if (m == null || version == -1 || m.version != version || !m.rootDir.equals(rootDir)) {
            m = new RootMemory(rootDir, version);
            memory.put(root.name(), m);
        }
        return m;
    }

    private Instant floorOf(RootConfig root) {
        RootMemory m = memory.get(root.name());
        return m == null || m.floor == null ? Instant.MIN : m.floor;
    }

    private Cataloger cataloger(RootConfig root) {
        return new Cataloger(root.layout(), settler.namesFor(root));
    }

    /**
     * A pass limited to what changed. Each path in {@code changed} (a directory where a watch event
     * happened, or a directory that appeared) is looked at from the nearest directory an earlier pass
     * catalogued, so that a save costs a listing of its run directory, not a walk of the root. Only the
     * checkpoints at those places are inspected, registered or marked gone; the returned scan lists
     * every checkpoint of the root, the rest as the registry has them.
     *
     * <p>An empty {@code changed} reads nothing from disk. A full pass is done instead when there is no
     * earlier pass to build on (none yet, or another process wrote to the registry since), when
     * {@code changed} is null or names more than {@value #MAX_SCOPE} places, or when the root changed and lists
     * empty (only a full pass tells an unmounted file system from a root emptied by hand).
     */
    public RootScan reconcile(Config config, RootConfig root, Set<Path> changed) {
        passes.lock();
        try {
            return scopedPass(config, root, changed);
        } finally {
            passes.unlock();
        }
    }

    private RootScan scopedPass(Config config, RootConfig root, Set<Path> changed) {
        if (!root.isLocal()) {
            // A remote root raises no watch events: a pass scoped to nothing leaves it as the registry has it,
            // any other pass polls it whole.
            return changed != null && changed.isEmpty() ? registered(root) : fullPass(config, root);
        }
        if (changed == null || changed.size() > MAX_SCOPE) {
            return fullPass(config, root);
        }
        long version = registry.externalChangeCounter();
        RootMemory m = memory.get(root.name());
        if (m == null || m.examined == null || version == -1 || version != m.version) {
            return fullPass(config, root);
        }
        List<Path> scopes = new ArrayList<>(changed.size());
        for (Path d : changed) {
            Path scope = d.normalize();
            if (!scope.startsWith(m.rootDir)) {
                return fullPass(config, root);
            }
            scopes.add(scope);
        }
        RootScan scoped = ScopedPass.run(registry, settler, cataloger(root), root, m, scopes, config.agent().settleTime(),
                clock.instant());
        return scoped != null ? scoped : fullPass(config, root);
    }

    /**
     * Looks at exactly one run directory of a local root now and returns its checkpoints as they are on
     * disk: one listing of the run directory (and of the directories a checkpoint is made of), the same
     * recognition a full pass does; headers are read only of what is new or changed since the registry
     * saw it (equal sizes and modification times reuse the registered verdict). Needs no earlier pass.
     *
     * <p>The registry is updated (new and changed checkpoints registered, vanished ones of this run marked
     * deleted) unless another pass of this reconciler is running: then the answer is still taken from the
     * disk, and that pass records what it finds. A run directory that is missing while its root is bare
     * yields nothing and records no deletion, unless the root is still on the device a full pass last found
     * checkpoints on (then the run was removed, not its file system unmounted: {@link RootDevice}).
     *
     * @param runId the run id (path relative to the root, "." for the root itself)
     * @throws IllegalArgumentException when the run id leads outside the root
     */
    public List<Registered> reconcileRun(Config config, RootConfig root, String runId) {
        if (!root.isLocal()) {
            throw new IllegalArgumentException("root " + root.name() + " is remote: runs there are polled whole");
        }
        Instant now = clock.instant();
        Path rootDir = root.localPath(); // as configured: paths are reported as scan reports them
        try {
            rootDir.toRealPath();
        } catch (IOException e) {
            return List.of();
        }
        Path runDir = rootDir.resolve(runId).normalize();
        if (!runDir.startsWith(rootDir)) {
            throw new IllegalArgumentException("run '" + runId + "' is not inside root " + root.name());
        }
        String run = runId(rootDir, runDir);
        List<ScanProblem> problems = new ArrayList<>();
        Cataloger cataloger = new Cataloger(root.layout(), settler.namesFor(root));
        TreeReader reader = new TreeReader((p, m) -> problems.add(new ScanProblem(root.name(), p, m)));
        List<Candidate> candidates = new ArrayList<>();
        // Sub-directories that are no checkpoint (or could not be read): a registered checkpoint there
        // is not evidence of a deletion, as in a full pass's unscanned directories.
        Set<Path> notLookedInto = new HashSet<>();
        boolean runDirGone = false;
        try {
            Cataloger.Findings f = cataloger.examine(reader.list(runDir), reader);
            candidates.addAll(f.candidates());
            notLookedInto.addAll(f.descendInto());
        } catch (NoSuchFileException | NotDirectoryException gone) {
            runDirGone = true;
        } catch (IOException | RuntimeException e) {
            log.warn("run {} of root {} ({}) cannot be listed: {}", run, root.name(), runDir, ErrorLine.reason(e));
            return List.of();
        }
        if (runDirGone && isBare(rootDir)
                && devices.distrust(root, rootDir, RootDevice.of(rootDir)) != null) {
            return List.of(); // not evidence that the run was removed (see the full pass)
        }
        Map<String, Registered> known = new HashMap<>();
        for (Registered c : registry.list(root.name(), run, false)) {
            known.put(c.key(), c);
        }
        Duration settleTime = config.agent().settleTime();
        if (!passes.tryLock()) {
            // A pass is running (the agent's): answer from the disk without writing beside it.
            return settler.settle(root, run, candidates, FileSource.LOCAL, known, settleTime, now, floorOf(root), problems,
                    false).checkpoints();
        }
        try {
            RunSettler.Settled settled = settler.settle(root, run, candidates, FileSource.LOCAL, known, settleTime, now,
                    floorOf(root), problems, true);
            settler.markGone(known.values(), rootDir, settled.present(), notLookedInto, now);
            RootMemory m = memory.get(root.name());
            if (m != null) {
                m.runs.remove(runDir); // written here: the next pass settles this run again
            }
            return settled.checkpoints();
        } finally {
            passes.unlock();
        }
    }

    /**
     * The checkpoint a scan would register for one path of a local root, found the way a scan finds it
     * (the walk from the root down to the path's run directory, the same recognition, alias detection
     * and registry facts such as the pin), registering nothing. Null when a scan would not register the
     * path as a checkpoint: not one, part of a directory checkpoint, or somewhere a scan does not look.
     * A file of a multi-file checkpoint (TensorFlow's {@code .index}) answers its checkpoint.
     */
    public Registered asScanned(Config config, RootConfig root, Path path) throws IOException {
        Path rootDir = root.localPath(); // as configured, as scan reports it
        rootDir.toRealPath(); // reachable
        Path p = path.toAbsolutePath().normalize();
        if (!p.startsWith(rootDir) || p.equals(rootDir)) {
            return null;
        }
        List<ScanProblem> problems = new ArrayList<>();
        TreeReader reader = new TreeReader((d, m) -> problems.add(new ScanProblem(root.name(), d, m)));
        TreeWalk.Located at = TreeWalk.locate(rootDir, p, cataloger(root), reader);
        if (at == null) {
            return null;
        }
        Map<String, Registered> known = new HashMap<>();
        for (Registered k : registry.list(root.name(), runId(rootDir, at.dir()), false)) {
            known.put(k.key(), k);
        }
        RunSettler.Settled settled = settler.settle(root, runId(rootDir, at.dir()), at.findings().candidates(),
                FileSource.LOCAL, known, config.agent().settleTime(), clock.instant(), floorOf(root), problems, false);
        return settled.checkpoints().stream().filter(k -> k.path().equals(at.candidate().path())).findFirst().orElse(null);
    }

    private static boolean isBare(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Forgets what this reconciler remembers of the run directories of checkpoints another component
     * removed from the disk and recorded (enforcement), so that the next pass settles those runs again.
     */
    public void forget(String root, Collection<String> keys) {
        RootMemory m = memory.get(root);
        if (m == null) {
            return;
        }
        for (String key : keys) {
            Path parent = Path.of(key).getParent();
            if (parent != null) {
                m.runs.remove(parent);
            }
        }
    }

    /** Forgets everything remembered (after another component wrote to the registry, e.g. enforcement). */
    public void invalidate() {
        memory.clear();
    }

    /** The run id: the run directory relative to the root, "." for the root itself. */
    public static String runId(Path rootDir, Path runDir) {
        Path rel = rootDir.relativize(runDir);
        String s = rel.toString();
        return s.isEmpty() ? "." : s;
    }

    private PresentRuns registryView(RootConfig root) {
        return PresentRuns.registered(registry, root.name(), c -> true);
    }
}
