package dev.ckptwarden.daemon;

/** Why the configuration file is re-read; {@link #words()} is how the reload's log lines say it. */
public enum ReloadReason {
    /** The watched configuration file changed on disk. */
    FILE_CHANGED("file changed"),
    /** {@code systemctl reload} (systemd's ExecReload) or {@code kill -HUP}. */
    SIGHUP("SIGHUP");

    private final String words;

    ReloadReason(String words) {
        this.words = words;
    }

    public String words() {
        return words;
    }

    @Override
    public String toString() {
        return words;
    }
}
