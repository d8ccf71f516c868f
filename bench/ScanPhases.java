import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.Cataloger;
import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.TreeReader;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.ConfigLoader;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.watch.Reconciler;
import dev.ckptwarden.watch.RootScan;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Splits one warm rescan into its phases and times each, in one JVM and repeatedly, so that a miss in
 * scan-vs-find.sh can be pinned on a phase: the first round is what a one-shot {@code scan} pays (cold
 * JIT), later rounds what the long-running agent's periodic reconcile pays. Run by scan-vs-find.sh
 * with PHASES=1 after a scan has filled the registry; a Java source-file program, nothing to build.
 *
 * <p>java -cp 'target/classes:target/lib/*' bench/ScanPhases.java CONFIG [ROUNDS]
 */
public final class ScanPhases {
    public static void main(String[] args) throws Exception {
        long t = System.nanoTime();
        Config config = ConfigLoader.load(Path.of(args[0]));
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        RootConfig root = config.roots().get(0);
        print("load config", t, "");
        t = System.nanoTime();
        try (SqliteRegistry registry = SqliteRegistry.open(config.agent().stateDir())) {
            print("open registry", t, "");
            System.out.println();
            System.out.printf(Locale.ROOT, "%-5s %10s %10s %10s %10s %10s %10s %10s %10s%n", "round", "bare NIO", "walk",
                    "signatures", "present()", "reconcile", "agent pass", "inspected", "entries");
            // The agent keeps one reconciler: its periodic pass builds on what the last pass remembered.
            Reconciler agent = new Reconciler(registry, Clock.systemUTC());
            agent.reconcile(config, root);
            for (int r = 1; r <= rounds; r++) {
                Path rootDir = root.localPath().toRealPath();
                List<Candidate> candidates = new ArrayList<>();
                long[] entries = new long[1];
                double bare = ms(() -> bareWalk(rootDir));
                double walk = ms(() -> {
                    candidates.addAll(walk(root, rootDir, entries));
                    return null;
                });
                double sigs = ms(() -> {
                    long n = 0;
                    for (Candidate c : candidates) {
                        n += c.signature().length();
                    }
                    return n;
                });
                @SuppressWarnings("unchecked") Map<String, Checkpoint>[] present = new Map[1];
                double presentMs = ms(() -> present[0] = registry.present(root.name()));
                RootScan[] scan = new RootScan[1];
                double reconcile = ms(() -> {
                    try (Reconciler fresh = new Reconciler(registry, Clock.systemUTC())) {
                        return scan[0] = fresh.reconcile(config, root);
                    }
                });
                double agentPass = ms(() -> agent.reconcile(config, root));
                System.out.printf(Locale.ROOT, "%-5d %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10d %10d%n", r, bare, walk,
                        sigs, presentMs, reconcile, agentPass, scan[0].inspected(), entries[0]);
                if (present[0].size() != candidates.size()) {
                    System.out.println("  note: registry holds " + present[0].size() + " present, walk found "
                            + candidates.size() + " candidates");
                }
            }
        }
        System.out.println("bare NIO = a lower bound for a java.nio walk: readdir + one lstat per entry, nothing kept;");
        System.out.println("walk = TreeReader listing + Cataloger.examine over the whole root (what reconcile does before settle);");
        System.out.println("reconcile = the whole Reconciler.reconcile (walk + settle + markGone) against the filled registry,");
        System.out.println("  by a new reconciler (what a one-shot scan pays); agent pass = the same by the one reconciler kept");
        System.out.println("  across rounds, as the agent's periodic pass (unchanged run directories cost their listing only).");
    }

    /** The directory walk of Reconciler.reconcile, without settling. */
    private static List<Candidate> walk(RootConfig root, Path rootDir, long[] entries) throws Exception {
        Cataloger cataloger = new Cataloger(root.layout(), NameParser.withPatterns(root.patterns()));
        TreeReader reader = new TreeReader((p, m) -> { });
        List<Candidate> candidates = new ArrayList<>();
        Deque<Path> pending = new ArrayDeque<>();
        pending.push(rootDir);
        while (!pending.isEmpty()) {
            Path dir = pending.pop();
            Listing listing = reader.list(dir);
            Cataloger.Findings f = cataloger.examine(listing, reader);
            candidates.addAll(f.candidates());
            for (int i = f.descendInto().size() - 1; i >= 0; i--) {
                pending.push(f.descendInto().get(i));
            }
            reader.forget(dir);
        }
        entries[0] = reader.entriesRead();
        return candidates;
    }

    /** Lists every directory and lstats every entry through SecureDirectoryStream, as TreeReader does, keeping nothing. */
    private static long bareWalk(Path dir) throws Exception {
        long n = 0;
        List<Path> subdirs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            SecureDirectoryStream<Path> secure = (SecureDirectoryStream<Path>) ds;
            for (Path child : ds) {
                BasicFileAttributes a = secure.getFileAttributeView(child.getFileName(), BasicFileAttributeView.class,
                        LinkOption.NOFOLLOW_LINKS).readAttributes();
                n += a.size() + a.lastModifiedTime().toMillis();
                if (a.isDirectory()) {
                    subdirs.add(child);
                }
            }
        }
        for (Path sub : subdirs) {
            n += bareWalk(sub);
        }
        return n;
    }

    private interface Step {
        Object run() throws Exception;
    }

    private static double ms(Step s) throws Exception {
        long t = System.nanoTime();
        s.run();
        return (System.nanoTime() - t) / 1e6;
    }

    private static void print(String what, long since, String extra) {
        System.out.printf(Locale.ROOT, "%-14s %8.1f ms %s%n", what, (System.nanoTime() - since) / 1e6, extra);
    }
}
