package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.Recognition;
import dev.ckptwarden.catalog.RemoteLocation;
import dev.ckptwarden.catalog.TreeReader;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.catalog.layout.FileLayout;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.remote.RemoteSettings;
import dev.ckptwarden.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * One full reconcile pass over a root: walk it, recognise every checkpoint, inspect only what is new
 * or changed (an unchanged tree costs one stat per entry), judge states, and bring the registry in
 * line, marking what vanished as deleted. The periodic reconcile is the source of truth; watch events
 * only make it come sooner.
 */
public final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    private static final Pattern LAST = Pattern.compile("last(-v\\d+)?\\.ckpt");

    private final Registry registry;
    private final Clock clock;
    /**
     * Daemon threads that read the registry while the walk runs (the common pool may be busy or tiny): one
     * per reading reconciler, not one for the JVM, so that a read stuck on an unreachable database does not
     * stall another agent's reconciler (cluster mode, two agents in one JVM); idle ones end after a minute.
     */
    private static final java.util.concurrent.Executor REGISTRY_READER = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "ckpt-warden-registry-read");
        t.setDaemon(true);
        return t;
    });
    /**
     * The registry's present checkpoints per root as of this reconciler's last pass, reused while no
     * other process has written to the registry; a long-running agent then pays no database read per pass.
     */
    private final Map<String, Map<String, Checkpoint>> view = new HashMap<>();
    private long viewVersion = -1;
    /**
     * Per root, the directories the last passes listed and catalogued (run directories and their
     * ancestors, never the inside of a checkpoint): where a scoped pass starts looking.
     */
    private final Map<String, Set<Path>> examined = new HashMap<>();
    /** Per root, its directory (as configured) as the last full pass found it. */
    private final Map<String, Path> rootDirs = new HashMap<>();
    /** A scoped pass that would touch more directories than this is a full pass instead. */
    static final int MAX_SCOPE = 256;

    private final RemoteReconciler remote;
    /** Held by every pass that writes the registry, so that a run looked at on request never writes beside one. */
    private final java.util.concurrent.locks.ReentrantLock passes = new java.util.concurrent.locks.ReentrantLock();

    public Reconciler(Registry registry, Clock clock) {
        this(registry, clock, RemoteSettings::fromEnvironment);
    }

    /** @param remoteSettings how remote roots are reached; asked only when a remote root is reconciled */
    public Reconciler(Registry registry, Clock clock, Supplier<RemoteSettings> remoteSettings) {
        this.registry = registry;
        this.clock = clock;
        this.remote = new RemoteReconciler(remoteSettings);
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
        return new RootScan(root.name(), path, false, new ArrayList<>(known(root.name()).values()), List.of(), 0, 0, 0,
                Duration.ZERO);
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
        if (!root.isLocal()) {
            return remote.reconcile(root, cataloger(root), problems,
                    walk -> settle(config, root, walk, CompletableFuture.completedFuture(known(root.name())), problems, now,
                            started));
        }
        // Checkpoints are reported under the root as the user configured it (a root given through a
        // symbolic link keeps that spelling); the link is resolved here only to check that it leads to a
        // directory. Nothing below the root is followed (the walk lists with lstat).
        Path rootDir = root.localPath();
        Path configured = rootDir;
        try {
            if (!Files.isDirectory(configured.toRealPath())) {
                throw new NotDirectoryException(configured.toString());
            }
        } catch (IOException e) {
            problems.add(new ScanProblem(root.name(), configured, describe(e)));
            log.warn("root {} ({}) not scanned: {}", root.name(), configured, describe(e));
            return new RootScan(root.name(), configured, false, registryView(root), problems, 0, 0, 0,
                    Duration.ofNanos(System.nanoTime() - started));
        }
        Cataloger cataloger = cataloger(root);
        TreeReader reader = new TreeReader((p, m) -> problems.add(new ScanProblem(root.name(), p, m)));
        // The registry's view and the walk are independent: read the one while doing the other.
        CompletableFuture<Map<String, Checkpoint>> knownLater = CompletableFuture.supplyAsync(() -> known(root.name()), REGISTRY_READER);
        Walked w = walk(rootDir, reader, reader::forget, cataloger,
                (dir, e) -> problems.add(new ScanProblem(root.name(), dir, describe(e))));
        return settle(config, root, new RootWalk(rootDir, true, w.candidates(), w.unscanned(), w.listed(), reader.entriesRead(),
                FileSource.LOCAL), knownLater, problems, now, started);
    }

    /** What a walk found: candidates in walk order, the directories listed, and those that could not be. */
    record Walked(List<Candidate> candidates, Set<Path> listed, Set<Path> unscanned) {
    }

    /**
     * Catalogues the tree below {@code start} depth first, local or remote alike: each directory is
     * listed once, checkpoints are taken as candidates, and the walk descends only into what the
     * catalog says is not a checkpoint. A directory that vanished since its parent was listed holds
     * nothing to register; one that cannot be listed is reported and left out.
     */
    static Walked walk(Path start, DirectoryReader reader, java.util.function.Consumer<Path> forget, Cataloger cataloger,
                       java.util.function.BiConsumer<Path, Exception> failed) {
        Walked w = new Walked(new ArrayList<>(), new HashSet<>(), new HashSet<>());
        Deque<Path> pending = new ArrayDeque<>();
        pending.push(start);
        while (!pending.isEmpty()) {
            Path dir = pending.pop();
            try {
                Listing listing = reader.list(dir);
                Cataloger.Findings f = cataloger.examine(listing, reader);
                w.listed().add(dir);
                w.candidates().addAll(f.candidates());
                for (int i = f.descendInto().size() - 1; i >= 0; i--) {
                    pending.push(f.descendInto().get(i));
                }
            } catch (NoSuchFileException gone) {
                // Vanished mid-scan (a run directory removed by its owner): nothing to register there.
            } catch (IOException | RuntimeException e) {
                w.unscanned().add(dir);
                failed.accept(dir, e);
            } finally {
                forget.accept(dir);
            }
        }
        return w;
    }

    private Cataloger cataloger(RootConfig root) {
        NameParser names;
        try {
            names = NameParser.withPatterns(root.patterns());
        } catch (IllegalArgumentException e) {
            names = NameParser.standard(); // validated at load time; defensive only
        }
        return new Cataloger(root.layout(), names);
    }

    /** Brings the registry in line with a walk: inspects what is new or changed, registers, marks what vanished. */
    private RootScan settle(Config config, RootConfig root, RootWalk walk, CompletableFuture<Map<String, Checkpoint>> knownLater,
                            List<ScanProblem> problems, Instant now, long started) {
        Path rootDir = walk.rootDir();
        if (!walk.reachable()) {
            return new RootScan(root.name(), rootDir, false, registryView(root), problems, 0, 0, 0,
                    Duration.ofNanos(System.nanoTime() - started));
        }
        Set<Path> unscanned = new HashSet<>(walk.unscanned());
        Map<String, Checkpoint> known;
        try {
            known = knownLater.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        Settled settled = settle(root, rootDir, walk.candidates(), walk.source(), known, config, now, problems);
        int gone;
        if (walk.entries() == 0 && !known.isEmpty()) {
            // An empty root that held checkpoints is far more often an unmounted file system (the mount
            // point left bare) than a user deleting everything: do not record a mass deletion.
            problems.add(new ScanProblem(root.name(), rootDir, "root is empty but " + known.size()
                    + " checkpoint(s) were registered there; not marking them deleted (file system not mounted?)"));
            log.warn("root {} ({}) is empty but {} checkpoint(s) were registered; not marking them deleted", root.name(),
                    rootDir, known.size());
            unscanned.add(rootDir);
            gone = 0;
        } else {
            gone = markGone(known, rootDir, settled.present, unscanned, now);
        }
        remember(root.name(), known, settled, unscanned);
        synchronized (this) {
            examined.put(root.name(), walk.listed());
            rootDirs.put(root.name(), rootDir);
        }
        if (!problems.isEmpty()) {
            log.info("root {}: {} problem(s) while scanning, e.g. {}", root.name(), problems.size(), problems.get(0));
        }
        return new RootScan(root.name(), rootDir, true, settled.checkpoints, problems, settled.inspected, gone,
                walk.entries(), Duration.ofNanos(System.nanoTime() - started));
    }

    private record Settled(List<Checkpoint> checkpoints, Set<String> present, int inspected) {
    }

    /**
     * A pass limited to what changed. Each path in {@code changed} (a directory where a watch event
     * happened, or a directory that appeared) is looked at from the nearest directory an earlier pass
     * catalogued, so that a save costs a listing of its run directory, not a walk of the root. Only the
     * checkpoints at those places are inspected, registered or marked gone; the returned scan lists
     * every checkpoint of the root, the rest as the last pass left them.
     *
     * <p>An empty {@code changed} reads nothing from disk. A full pass is done instead when there is no
     * earlier pass to build on (none yet, or another process wrote to the registry since), when
     * {@code changed} is null, reaches the root itself, or names more than {@value #MAX_SCOPE} places.
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
            return changed != null && changed.isEmpty() ? registered(root) : reconcile(config, root);
        }
        if (changed == null || changed.size() > MAX_SCOPE) {
            return reconcile(config, root);
        }
        Map<String, Checkpoint> known;
        Set<Path> listedBefore;
        Path rootDir;
        long version;
        synchronized (this) {
            version = registry.externalChangeCounter();
            known = version == -1 || version != viewVersion ? null : view.get(root.name());
            listedBefore = examined.get(root.name());
            rootDir = rootDirs.get(root.name());
        }
        if (known == null || listedBefore == null || rootDir == null) {
            return reconcile(config, root);
        }
        Instant now = clock.instant();
        long started = System.nanoTime();
        List<Path> scopes = new ArrayList<>(changed.size());
        for (Path d : changed) {
            Path scope = d.normalize();
            if (!scope.startsWith(rootDir) || scope.equals(rootDir)) {
                return reconcile(config, root);
            }
            scopes.add(scope);
        }
        List<ScanProblem> problems = new ArrayList<>();
        Cataloger cataloger = new Cataloger(root.layout(), namesFor(root));
        TreeReader reader = new TreeReader((p, m) -> problems.add(new ScanProblem(root.name(), p, m)));
        Map<Path, Candidate> found = new java.util.LinkedHashMap<>();
        Set<Path> listed = new HashSet<>();
        Set<Path> vanished = new HashSet<>();
        Set<Path> unscanned = new HashSet<>();
        for (Path scope : scopes) {
            Path start = scope;
            while (!start.equals(rootDir) && !listedBefore.contains(start)) {
                start = start.getParent();
            }
            Deque<Path> pending = new ArrayDeque<>();
            pending.push(start);
            while (!pending.isEmpty()) {
                Path dir = pending.pop();
                // Below the changed place everything counts; above it only the path leading down to it.
                boolean inside = dir.startsWith(scope);
                try {
                    Listing listing = reader.list(dir);
                    Cataloger.Findings f = cataloger.examine(listing, reader);
                    listed.add(dir);
                    for (Candidate c : f.candidates()) {
                        if (inside || scope.startsWith(c.path())) {
                            found.putIfAbsent(c.path(), c);
                        }
                    }
                    for (int i = f.descendInto().size() - 1; i >= 0; i--) {
                        Path sub = f.descendInto().get(i);
                        if (inside || scope.startsWith(sub)) {
                            pending.push(sub);
                        }
                    }
                } catch (NoSuchFileException gone) {
                    vanished.add(dir);
                } catch (IOException | RuntimeException e) {
                    unscanned.add(dir);
                    problems.add(new ScanProblem(root.name(), dir, describe(e)));
                } finally {
                    reader.forget(dir);
                }
            }
        }
        Map<String, Checkpoint> affected = new HashMap<>();
        for (Checkpoint k : known.values()) {
            Path kp = k.path();
            for (Path scope : scopes) {
                if (kp.startsWith(scope) || scope.startsWith(kp)) {
                    affected.put(k.key(), k);
                    break;
                }
            }
        }
        Settled settled = settle(root, rootDir, new ArrayList<>(found.values()), FileSource.LOCAL, known, config, now, problems);
        int gone = markGone(affected, rootDir, settled.present, unscanned, now);
        List<Checkpoint> all;
        synchronized (this) {
            Map<String, Checkpoint> current = view.get(root.name());
            if (current == known && viewVersion == version) {
                for (Checkpoint prev : affected.values()) {
                    if (!settled.present.contains(prev.key()) && !shadowed(prev, unscanned)) {
                        current.remove(prev.key());
                    }
                }
                for (Checkpoint c : settled.checkpoints) {
                    current.put(c.key(), c);
                }
                Set<Path> ex = examined.get(root.name());
                ex.addAll(listed);
                ex.removeAll(vanished);
            }
            all = new ArrayList<>(current != null ? current.values() : known.values());
        }
        if (!problems.isEmpty()) {
            log.info("root {}: {} problem(s) while scanning, e.g. {}", root.name(), problems.size(), problems.get(0));
        }
        return new RootScan(root.name(), rootDir, true, all, problems, settled.inspected, gone, reader.entriesRead(),
                Duration.ofNanos(System.nanoTime() - started));
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
     * (an unmounted file system) yields nothing and records no deletion.
     *
     * @param runId the run id (path relative to the root, "." for the root itself)
     * @throws IllegalArgumentException when the run id leads outside the root
     */
    public List<Checkpoint> reconcileRun(Config config, RootConfig root, String runId) {
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
        Cataloger cataloger = new Cataloger(root.layout(), namesFor(root));
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
            log.warn("run {} of root {} ({}) cannot be listed: {}", run, root.name(), runDir, describe(e));
            return List.of();
        }
        if (runDirGone && isBare(rootDir)) {
            return List.of(); // not evidence that the run was removed (see the full pass)
        }
        Map<String, Checkpoint> known = new HashMap<>();
        for (Checkpoint c : registry.list(root.name(), run, false)) {
            known.put(c.key(), c);
        }
        if (!passes.tryLock()) {
            // A pass is running (the agent's): answer from the disk without writing beside it.
            return settle(root, rootDir, candidates, FileSource.LOCAL, known, config, now, problems, false).checkpoints();
        }
        try {
            Settled settled = settle(root, rootDir, candidates, FileSource.LOCAL, known, config, now, problems, true);
            markGone(known, rootDir, settled.present, notLookedInto, now);
            synchronized (this) {
                Map<String, Checkpoint> current = view.get(root.name());
                if (current != null) {
                    known.keySet().forEach(current::remove);
                    settled.checkpoints().forEach(c -> current.put(c.key(), c));
                }
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
    public Checkpoint asScanned(Config config, RootConfig root, Path path) throws IOException {
        Path rootDir = root.localPath(); // as configured, as scan reports it
        rootDir.toRealPath(); // reachable
        Path p = path.toAbsolutePath().normalize();
        if (!p.startsWith(rootDir) || p.equals(rootDir)) {
            return null;
        }
        Cataloger cataloger = new Cataloger(root.layout(), namesFor(root));
        List<ScanProblem> problems = new ArrayList<>();
        TreeReader reader = new TreeReader((d, m) -> problems.add(new ScanProblem(root.name(), d, m)));
        Path dir = rootDir;
        while (true) {
            Cataloger.Findings f = cataloger.examine(reader.list(dir), reader);
            String rel = dir.relativize(p).toString();
            for (Candidate c : f.candidates()) {
                if (c.path().equals(p) || c.members().contains(rel)) {
                    Map<String, Checkpoint> known = new HashMap<>();
                    for (Checkpoint k : registry.list(root.name(), runId(rootDir, dir), false)) {
                        known.put(k.key(), k);
                    }
                    Settled settled = settle(root, rootDir, f.candidates(), FileSource.LOCAL, known, config,
                            clock.instant(), problems, false);
                    return settled.checkpoints().stream().filter(k -> k.path().equals(c.path())).findFirst().orElse(null);
                }
            }
            Path next = null;
            for (Path d : f.descendInto()) {
                if (p.startsWith(d) && !p.equals(d)) {
                    next = d;
                }
            }
            if (next == null) {
                return null;
            }
            dir = next;
        }
    }

    private static boolean isBare(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Forgets checkpoints another component removed from the disk and recorded (enforcement), so
     * that the next scoped pass neither lists them nor marks them gone a second time.
     */
    public synchronized void forget(String root, java.util.Collection<String> keys) {
        Map<String, Checkpoint> v = view.get(root);
        if (v != null) {
            keys.forEach(v::remove);
        }
    }

    private static boolean shadowed(Checkpoint prev, Set<Path> unscanned) {
        for (Path u : unscanned) {
            if (prev.path().startsWith(u)) {
                return true;
            }
        }
        return false;
    }


    private synchronized Map<String, Checkpoint> known(String root) {
        long version = registry.externalChangeCounter();
        if (version == -1 || version != viewVersion) {
            view.clear();
            viewVersion = version;
        }
        Map<String, Checkpoint> cached = view.get(root);
        return cached != null ? cached : registry.present(root);
    }

    /** What the registry holds as present for this root after the pass: what was seen, plus what could not be looked at. */
    private synchronized void remember(String root, Map<String, Checkpoint> known, Settled settled, Set<Path> unscanned) {
        if (viewVersion == -1) {
            return;
        }
        Map<String, Checkpoint> next = new HashMap<>(settled.checkpoints().size() * 2);
        for (Checkpoint c : settled.checkpoints()) {
            next.put(c.key(), c);
        }
        for (Checkpoint prev : known.values()) {
            if (!next.containsKey(prev.key()) && unscanned.stream().anyMatch(u -> prev.path().startsWith(u))) {
                next.put(prev.key(), prev);
            }
        }
        view.put(root, next);
    }

    /** Threads that read checkpoint headers; daemon threads, one per core. */
    private static final java.util.concurrent.ExecutorService INSPECTORS = java.util.concurrent.Executors.newFixedThreadPool(
            Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())), r -> {
                Thread t = new Thread(r, "ckpt-warden-inspect");
                t.setDaemon(true);
                return t;
            });

    /** Unchanged since a settled verdict (same sizes and times): no need to read its headers again. */
    private static boolean reusable(Checkpoint prev, Candidate c) {
        return prev != null && c.signature().equals(prev.signature())
                && (prev.state() == CheckpointState.COMPLETE || prev.state() == CheckpointState.CORRUPT);
    }

    private static Inspection awaitInspection(java.util.concurrent.Future<Inspection> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading headers", e);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** Forgets the cached view (after another component wrote to the registry, e.g. enforcement). */
    public synchronized void invalidate() {
        view.clear();
    }

    private Settled settle(RootConfig root, Path rootDir, List<Candidate> candidates, FileSource source,
                           Map<String, Checkpoint> known, Config config, Instant now, List<ScanProblem> problems) {
        return settle(root, rootDir, candidates, source, known, config, now, problems, true);
    }

    /** @param record false to judge only, registering nothing */
    private Settled settle(RootConfig root, Path rootDir, List<Candidate> candidates, FileSource source,
                           Map<String, Checkpoint> known, Config config, Instant now, List<ScanProblem> problems,
                           boolean record) {
        List<Checkpoint> result = new ArrayList<>(candidates.size());
        List<Checkpoint> changed = new ArrayList<>();
        Set<String> present = new HashSet<>();
        Map<Path, List<Checkpoint>> byRun = new HashMap<>();
        int inspected = 0;
        // Header reads of new or changed checkpoints are independent of each other: on a first scan of a
        // large tree they are most of the work, so they run on all cores; everything else stays in order.
        Map<Candidate, java.util.concurrent.Future<Inspection>> inspections = new java.util.IdentityHashMap<>();
        Instant floor = Instant.MIN;
        for (Checkpoint k : known.values()) {
            if (k.stateSince() != null && k.stateSince().isAfter(floor)) {
                floor = k.stateSince();
            }
        }
        for (Candidate c : candidates) {
            if (!reusable(known.get(c.path().toString()), c)) {
                inspections.put(c, INSPECTORS.submit(c.inspector()::inspect));
            }
        }
        for (Candidate c : candidates) {
            String key = c.path().toString();
            Checkpoint prev = known.get(key);
            Checkpoint cp;
            java.util.concurrent.Future<Inspection> pending = inspections.get(c);
            if (pending == null) {
                cp = prev;
            } else {
                Inspection ins;
                try {
                    ins = awaitInspection(pending);
                    inspected++;
                } catch (NoSuchFileException vanished) {
                    continue;
                } catch (IOException | RuntimeException e) {
                    problems.add(new ScanProblem(root.name(), c.path(), "cannot inspect: " + describe(e)));
                    if (prev != null) {
                        present.add(key); // keep what we knew rather than forget it
                        result.add(prev);
                    }
                    continue;
                }
                if (ins.notACheckpoint() != null) {
                    continue;
                }
                cp = build(root, rootDir, c, ins, prev, now, config);
                if (cp.stateSince() != null && cp.stateSince().isBefore(floor)
                        && (prev == null || !cp.stateSince().equals(prev.stateSince()))) {
                    // The clock went back: a state reached now must not look older than one recorded before,
                    // or a fresh save would rank below older ones and become evictable (Recency).
                    cp = cp.withHistory(cp.firstSeen(), floor.plusNanos(1));
                }
                changed.add(cp);
                if (cp.state() == CheckpointState.CORRUPT && (prev == null || prev.state() != CheckpointState.CORRUPT)) {
                    // Once per verdict: an unchanged corrupt checkpoint is not judged again, and the registry
                    // remembers the verdict across restarts.
                    log.warn("checkpoint {} is corrupt: {}", cp.path(), cp.note());
                }
            }
            present.add(key);
            result.add(cp);
            byRun.computeIfAbsent(c.runDir(), k -> new ArrayList<>()).add(cp);
        }
        // Lightning's last.ckpt may be a byte-identical copy of another save: an alias, not a separate save.
        java.util.Map<Checkpoint, Integer> changedAt = new java.util.IdentityHashMap<>();
        for (int i = 0; i < changed.size(); i++) {
            changedAt.put(changed.get(i), i);
        }
        for (int i = 0; i < result.size(); i++) {
            Checkpoint cp = result.get(i);
            Integer at = changedAt.get(cp);
            if (at != null && cp.aliasOf() == null && cp.kind() == dev.ckptwarden.catalog.CheckpointKind.FILE
                    && cp.name().startsWith("last") && LAST.matcher(cp.path().getFileName().toString()).matches()) {
                Checkpoint target = identicalSibling(source, cp, byRun.getOrDefault(cp.path().getParent(), List.of()));
                if (target != null) {
                    Checkpoint alias = cp.withAlias(target.path());
                    changed.set(at, alias);
                    result.set(i, alias);
                }
            }
        }
        takeFactsFromTargets(result, changed, known);
        if (record && !changed.isEmpty()) {
            registry.upsert(changed);
            if (log.isDebugEnabled()) {
                for (Checkpoint c : changed) {
                    log.debug("registered {} ({}{})", c.path(), c.state().id(), c.note() == null ? "" : ": " + c.note());
                }
            }
        }
        return new Settled(result, present, inspected);
    }

    /**
     * An alias ({@code last.ckpt}, DeepSpeed's {@code latest}) is the checkpoint it names: it reports that
     * checkpoint's epoch, step, metrics and resumability where its own name and header say nothing. An
     * alias whose facts changed that way is registered again.
     */
    private static void takeFactsFromTargets(List<Checkpoint> result, List<Checkpoint> changed, Map<String, Checkpoint> known) {
        Map<Path, Checkpoint> byPath = new HashMap<>();
        for (Checkpoint c : result) {
            byPath.put(c.path(), c);
        }
        Map<Checkpoint, Integer> changedAt = new java.util.IdentityHashMap<>();
        for (int i = 0; i < changed.size(); i++) {
            changedAt.put(changed.get(i), i);
        }
        for (int i = 0; i < result.size(); i++) {
            Checkpoint alias = result.get(i);
            if (alias.aliasOf() == null) {
                continue;
            }
            Checkpoint target = byPath.get(alias.aliasOf());
            if (target == null) {
                target = known.get(alias.aliasOf().toString());
            }
            if (target == null || target.aliasOf() != null) {
                continue;
            }
            Checkpoint informed = alias.withFactsOf(target);
            if (!informed.equals(alias)) {
                result.set(i, informed);
                Integer at = changedAt.get(alias);
                if (at != null) {
                    changed.set(at, informed);
                } else {
                    changed.add(informed);
                }
            }
        }
    }

    private static Checkpoint identicalSibling(FileSource source, Checkpoint last, List<Checkpoint> run) {
        String fp = null;
        for (Checkpoint other : run) {
            if (other == last || other.bytes() != last.bytes() || other.aliasOf() != null
                    || LAST.matcher(other.path().getFileName().toString()).matches()
                    || other.kind() != dev.ckptwarden.catalog.CheckpointKind.FILE) {
                continue;
            }
            try {
                if (fp == null) {
                    fp = FileLayout.fingerprint(source, last.path(), last.bytes());
                }
                if (fp.equals(FileLayout.fingerprint(source, other.path(), other.bytes()))) {
                    return other;
                }
            } catch (IOException e) {
                return null;
            }
        }
        return null;
    }


    private Checkpoint build(RootConfig root, Path rootDir, Candidate c, Inspection ins, Checkpoint prev, Instant now,
                             Config config) {
        String computed = runId(rootDir, c.runDir());
        if (runIds.size() > 50_000) {
            runIds.clear(); // a tree of more runs than that only loses the sharing, nothing else
        }
        // One String per run, not one per checkpoint: the agent keeps every checkpoint of its roots.
        String run = prev != null && computed.equals(prev.run()) ? prev.run() : runIds.computeIfAbsent(computed, k -> k);
        return Recognition.checkpoint(root.name(), run, c, ins, namesFor(root), prev, now, config.agent().settleTime());
    }

    private final Map<String, NameParser> parsers = new java.util.concurrent.ConcurrentHashMap<>();
    /** Run names handed out, so that checkpoints of one run share one String. */
    private final Map<String, String> runIds = new java.util.concurrent.ConcurrentHashMap<>();

    private NameParser namesFor(RootConfig root) {
        return parsers.computeIfAbsent(String.join("\u0000", root.patterns()), k -> {
            try {
                return NameParser.withPatterns(root.patterns());
            } catch (IllegalArgumentException e) {
                return NameParser.standard();
            }
        });
    }

    /** The run id: the run directory relative to the root, "." for the root itself. */
    public static String runId(Path rootDir, Path runDir) {
        Path rel = rootDir.relativize(runDir);
        String s = rel.toString();
        return s.isEmpty() ? "." : s;
    }

    private int markGone(Map<String, Checkpoint> known, Path rootDir, Set<String> present, Set<Path> unscanned, Instant now) {
        List<String> gone = new ArrayList<>();
        for (Checkpoint prev : known.values()) {
            if (present.contains(prev.key())) {
                continue;
            }
            // Could not look there this time: not evidence of deletion.
            if (!shadowed(prev, unscanned) && prev.path().startsWith(rootDir)) {
                gone.add(prev.key());
            }
        }
        if (!gone.isEmpty()) {
            registry.markGone(gone, CheckpointState.DELETED, now, "gone from disk");
        }
        return gone.size();
    }

    private List<Checkpoint> registryView(RootConfig root) {
        return new ArrayList<>(registry.present(root.name()).values());
    }

    static String describe(Throwable e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "does not exist";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
