package dev.ckptwarden.daemon;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * One process per {@code state_dir}: an exclusive lock on {@code <state_dir>/agent.lock} (opened
 * without following a link), held for the process's life, with the holder's pid and start time
 * written into it so that a second process can say who it is waiting for. The kernel drops the lock
 * when the holder dies, so a crash never leaves the state directory locked.
 */
public final class AgentLock implements Closeable {
    /** The lock file's name inside {@code state_dir}. */
    public static final String FILE_NAME = "agent.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private AgentLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code stateDir} for this process.
     *
     * @param what what this process is ("run", "enforce"), written for the next one to read
     * @throws IOException one line naming the holder when another process holds it, or why the file cannot be used
     */
    public static AgentLock acquire(Path stateDir, String what) throws IOException {
        Path file = stateDir.resolve(FILE_NAME);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            if (Files.isSymbolicLink(file)) {
                throw new IOException(file + ": refused: a symbolic link", e);
            }
            throw e;
        }
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException thisProcess) {
                lock = null;
            }
            if (lock == null) {
                throw new IOException("state_dir " + stateDir + " is in use by another ckpt-warden process ("
                        + holder(ch) + "); one process per state_dir");
            }
            ProcessHandle self = ProcessHandle.current();
            String started = self.info().startInstant().orElse(Instant.now()).toString();
            ch.truncate(0);
            ByteBuffer text = ByteBuffer.wrap(("pid " + self.pid() + "\nstarted " + started + "\ncommand " + what + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            ch.position(0);
            while (text.hasRemaining()) {
                ch.write(text);
            }
            ch.force(true);
            return new AgentLock(ch, lock);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** "pid N, started T, command C" from the holder's lock file, as far as it is readable. */
    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(512);
        while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
            // read what the holder wrote
        }
        String text = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        return text.isEmpty() ? "holder unknown" : String.join(", ", text.lines().toList());
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
