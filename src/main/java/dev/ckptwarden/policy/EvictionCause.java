package dev.ckptwarden.policy;

import java.util.List;

/**
 * Why a checkpoint is to be removed at all: the retention policy, a quota, disk pressure, or a person
 * asking for it. Code compares causes; only the edges (audit log, CLI, JSON, metrics, log lines, the
 * registry's note) use {@link #id()} or {@link #words()}.
 */
public enum EvictionCause {
    /** The retention rules keep it no longer. */
    POLICY("policy"),
    /** The root's {@code quota.max_bytes}. */
    QUOTA("quota"),
    /** The root's {@code quota.run_max_bytes}. */
    RUN_QUOTA("run_quota"),
    /** The filesystem's free space is below the watermark. */
    DISK_PRESSURE("disk_pressure"),
    /** Named by a person; the only cause that may remove from a watch-only root. */
    MANUAL("manual");

    /** The causes the agent decides on its own, in the order the metrics register them. */
    public static final List<EvictionCause> PLANNED = List.of(POLICY, QUOTA, RUN_QUOTA, DISK_PRESSURE);

    private final String id;

    EvictionCause(String id) {
        this.id = id;
    }

    /** The {@code reason} of the audit log, the CLI and JSON, and of {@code ckpt_warden_evictions_total}. */
    public String id() {
        return id;
    }

    /** For a sentence: {@code disk pressure}, {@code run quota}. */
    public String words() {
        return id.replace('_', ' ');
    }

    /**
     * The cause a stored {@link #id()} names (a trash manifest read back at a start).
     *
     * @throws IllegalArgumentException when it names none
     */
    public static EvictionCause ofId(String id) {
        for (EvictionCause c : values()) {
            if (c.id.equals(id)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown eviction reason '" + id + "'");
    }
}
