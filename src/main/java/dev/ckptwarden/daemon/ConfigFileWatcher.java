package dev.ckptwarden.daemon;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;

/**
 * Notices edits of the configuration file. Editors save by writing a new file and renaming it over
 * the old one, which a watch on the file itself would miss; so the directory is watched and events
 * are filtered by name.
 */
final class ConfigFileWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConfigFileWatcher.class);

    private final WatchService service;
    private final Path fileName;
    private final Runnable changed;
    private final Thread thread;

    ConfigFileWatcher(Path configFile, Runnable changed) throws IOException {
        Path abs = configFile.toAbsolutePath();
        this.fileName = abs.getFileName();
        this.changed = changed;
        this.service = FileSystems.getDefault().newWatchService();
        abs.getParent().register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        this.thread = new Thread(this::loop, "ckpt-warden-config-watch");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void loop() {
        while (true) {
            WatchKey key;
            try {
                key = service.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            boolean ours = false;
            for (WatchEvent<?> ev : key.pollEvents()) {
                if (ev.kind() == StandardWatchEventKinds.OVERFLOW || fileName.equals(ev.context())) {
                    ours = true;
                }
            }
            key.reset();
            if (ours) {
                try {
                    changed.run();
                } catch (RuntimeException e) {
                    log.error("configuration reload failed: {}", e.toString());
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        service.close();
        thread.interrupt();
    }
}
