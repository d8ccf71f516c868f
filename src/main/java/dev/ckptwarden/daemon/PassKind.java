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
    REGISTRY_PROBE;

    /** True for passes that walk every root; event and settle passes look only where something changed. */
    boolean walksEveryRoot() {
        return this != EVENT && this != SETTLE;
    }

    /** True for the passes that also update the filesystem-full forecast (it reads the registry's history). */
    boolean forecasts() {
        return this == STARTUP || this == PERIODIC;
    }

    /** The word logs use: {@code startup}, {@code registry-probe}. */
    String word() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
