package dev.ckptwarden.daemon;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;

/**
 * Tells systemd the agent is ready ({@code READY=1}, after the first reconcile) and alive
 * ({@code WATCHDOG=1}, while its loops are healthy), through libsystemd's {@code sd_notify(3)} called
 * with JNA. Java has no AF_UNIX datagram socket, and the {@code systemd-notify} helper races with its
 * own exit on older systemd; calling libsystemd from the agent's own process is what lets the unit say
 * {@code NotifyAccess=main}. Without {@code NOTIFY_SOCKET} (not started by systemd) or without
 * libsystemd, every call is a no-op.
 */
public final class SystemdNotifier {
    private static final Logger log = LoggerFactory.getLogger(SystemdNotifier.class);

    /** The one libsystemd function we need. */
    interface LibSystemd extends Library {
        int sd_notify(int unsetEnvironment, String state);
    }

    private final LibSystemd lib;
    private final Duration watchdog;

    private SystemdNotifier(LibSystemd lib, Duration watchdog) {
        this.lib = lib;
        this.watchdog = watchdog;
    }

    /** A notifier for this process's environment; inactive when systemd did not ask for notifications. */
    public static SystemdNotifier fromEnvironment(Map<String, String> env) {
        if (env.get("NOTIFY_SOCKET") == null) {
            return new SystemdNotifier(null, null);
        }
        LibSystemd lib;
        try {
            lib = Native.load("systemd", LibSystemd.class);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            log.warn("NOTIFY_SOCKET is set but libsystemd cannot be loaded ({}); readiness is not reported", e.getMessage());
            return new SystemdNotifier(null, null);
        }
        Duration watchdog = null;
        String usec = env.get("WATCHDOG_USEC");
        if (usec != null) {
            try {
                watchdog = Duration.ofNanos(Long.parseLong(usec) * 1000);
            } catch (NumberFormatException e) {
                log.warn("WATCHDOG_USEC is not a number: {}", usec);
            }
        }
        return new SystemdNotifier(lib, watchdog);
    }

    public boolean active() {
        return lib != null;
    }

    /** How often systemd expects WATCHDOG=1 (null when no watchdog is configured). */
    public Duration watchdogInterval() {
        return watchdog;
    }

    public void ready(String status) {
        send("READY=1\nSTATUS=" + status);
    }

    public void status(String status) {
        send("STATUS=" + status);
    }

    public void watchdog() {
        send("WATCHDOG=1");
    }

    public void stopping() {
        send("STOPPING=1");
    }

    private void send(String state) {
        if (lib == null) {
            return;
        }
        int rc = lib.sd_notify(0, state);
        if (rc < 0) {
            log.debug("sd_notify({}) failed: {}", state.replace('\n', ' '), rc);
        }
    }
}
