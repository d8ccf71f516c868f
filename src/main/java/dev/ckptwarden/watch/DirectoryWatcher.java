package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.Cataloger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * JDK {@link WatchService} (inotify on Linux) over every directory of the local roots. It says in
 * which directory something changed (or which directory appeared or was removed); the reconcile pass
 * decides what changed, so a lost or coalesced event can cost latency but never correctness (the
 * periodic full pass catches it). New sub-directories are registered as they appear; an OVERFLOW makes
 * the whole root dirty. A change is named as narrowly as it is known, so that the event pass reads only
 * the run directory concerned: a removed run directory is named itself, not the root it was in.
 */
public final class DirectoryWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DirectoryWatcher.class);

    private final WatchService service;
    private final Map<WatchKey, Path> dirs = new HashMap<>();
    private final Map<WatchKey, String> rootOf = new HashMap<>();
    /**
     * Every directory registered, until its removal is heard in its parent: its own key may be gone by then
     * (the kernel ends a removed directory's watch), yet the removal is still to be named as that directory.
     */
    private final Set<Path> registered = new HashSet<>();
    private final Changes dirty;
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong overflows = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;

    /** Hears where something changed. */
    @FunctionalInterface
    public interface Changes {
        /**
         * Something changed under a root.
         *
         * @param where the directory the change happened in, or a directory that appeared; null when
         *              the kernel's queue overflowed and anything under the root may have changed
         */
        void changed(String root, Path where);
    }

    /** @param dirty told of every change under a watched root, per directory */
    public DirectoryWatcher(Changes dirty) throws IOException {
        this.service = FileSystems.getDefault().newWatchService();
        this.dirty = dirty;
        this.thread = new Thread(this::loop, "ckpt-warden-watch");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public boolean alive() {
        return thread.isAlive();
    }

    public long events() {
        return events.get();
    }

    public long overflows() {
        return overflows.get();
    }

    /** Registers a root's directory tree (without following symbolic links); returns how many directories. */
    public synchronized int watchRoot(String root, Path dir) {
        int n = 0;
        Deque<Path> pending = new ArrayDeque<>();
        pending.push(dir);
        while (!pending.isEmpty()) {
            Path d = pending.pop();
            try {
                WatchKey key = d.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                        StandardWatchEventKinds.ENTRY_MODIFY);
                dirs.put(key, d);
                rootOf.put(key, root);
                registered.add(d);
                n++;
                try (Stream<Path> children = Files.list(d)) {
                    children.filter(c -> Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)
                                    && !c.getFileName().toString().equals(Cataloger.TRASH_DIR))
                            .forEach(pending::push);
                }
            } catch (IOException e) {
                log.debug("cannot watch {}: {}", d, e.getMessage()); // the periodic reconcile still covers it
            }
        }
        return n;
    }

    /** True when at least one directory of this root is registered. */
    public synchronized boolean watching(String root) {
        return rootOf.containsValue(root);
    }

    /** Stops watching every directory of a root (a root removed by a configuration reload). */
    public synchronized void unwatchRoot(String root) {
        rootOf.entrySet().removeIf(e -> {
            if (e.getValue().equals(root)) {
                e.getKey().cancel();
                registered.remove(dirs.remove(e.getKey()));
                return true;
            }
            return false;
        });
    }

    private void loop() {
        while (running) {
            WatchKey key;
            try {
                key = service.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            String root;
            Path dir;
            synchronized (this) {
                root = rootOf.get(key);
                dir = dirs.get(key);
            }
            Set<Path> where = new LinkedHashSet<>();
            boolean overflowed = false;
            for (WatchEvent<?> ev : key.pollEvents()) {
                events.incrementAndGet();
                if (ev.kind() == StandardWatchEventKinds.OVERFLOW) {
                    overflows.incrementAndGet();
                    overflowed = true;
                    continue;
                }
                if (dir == null || root == null) {
                    continue;
                }
                Path child = dir.resolve((Path) ev.context());
                if (child.getFileName().toString().equals(Cataloger.TRASH_DIR)) {
                    continue; // the enforcer's own trash: never catalogued, never watched
                }
                if (ev.kind() == StandardWatchEventKinds.ENTRY_CREATE && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
                    watchRoot(root, child);
                    where.add(child); // a new run or checkpoint directory: look at it, not at all its siblings
                } else if (ev.kind() == StandardWatchEventKinds.ENTRY_DELETE && forgetRegistered(child)) {
                    where.add(child); // a removed run directory: what was in it is gone, its siblings are untouched
                } else {
                    where.add(dir);
                }
            }
            if (!key.reset()) {
                synchronized (this) {
                    dirs.remove(key);
                    rootOf.remove(key);
                }
            }
            if (root != null) {
                if (overflowed) {
                    dirty.changed(root, null);
                }
                for (Path p : where) {
                    dirty.changed(root, p);
                }
            }
        }
    }

    /** True when {@code dir} was a registered directory; it is one no longer. */
    private synchronized boolean forgetRegistered(Path dir) {
        return registered.remove(dir);
    }

    @Override
    public void close() throws IOException {
        running = false;
        service.close();
        thread.interrupt();
    }
}
