package dev.ckptwarden.daemon;

import java.util.Locale;

/** Why the agent runs a pass, which decides what the pass looks at and what it does besides. */
public enum PassKind {
    /** The first pass: every root, trash recovery (single agent), a state summary per root. */
    STARTUP,
    /** The periodic full reconcile ({@code agent.reconcile_interval}). */
    PERIODIC,
    /** Watch events: only the directories events named since the last event pass. */
    EVENT,
    /** A settle timer: only the directories (run directories) whose checkpoints are due for their verdict. */
    SETTLE,
    /** After a configuration reload: every root under the new configuration. */
    RELOAD,
    /** Cluster mode: this agent just took the lease; every root, after finishing the previous holder's trash. */
    TAKEOVER,
    /** The registry did not answer: ask again, and once it does, a full pass catches up. */
    REGISTRY_PROBE,
    /**
     * The filesystem-full forecast alone, right after the startup pass: it reads the registry's history, and READY
     * (the registry is current) does not wait for it. Walks nothing.
     */
    FORECAST;

    /** True for passes that walk every root; event and settle passes look only where something changed. */
    boolean walksEveryRoot() {
        return this != EVENT && this != SETTLE && this != FORECAST;
    }

    /**
     * True for the passes that also update the filesystem-full forecast (it reads the registry's history); after the
     * startup pass a {@link #FORECAST} of its own does it.
     */
    boolean forecasts() {
        return this == PERIODIC;
    }

    /** The word logs use: {@code startup}, {@code registry-probe}. */
    String word() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
