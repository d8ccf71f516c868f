package dev.ckptwarden.offload;

import dev.ckptwarden.enforce.EnforcementListener;
import dev.ckptwarden.enforce.Enforcer;
import dev.ckptwarden.enforce.Eviction;
import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.remote.RemoteSettings;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The process {@link OffloadCrashTest} lets die: offloads {@code lit/epoch=0-step=10.ckpt} of the site
 * in {@code args[0]} to the target {@code args[1]} and halts the JVM right after the checkpoint was
 * renamed into the trash, before the registry hears of it.
 */
public final class OffloadCrashChild {
    static final int HALTED = 77;

    private OffloadCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        RemoteSettings settings = RemoteSettings.fromEnvironment(Map.of(), Path.of(args[0]));
        OffloadSite site = OffloadSite.reopen(Path.of(args[0]), args[1], settings);
        Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
            @Override
            public void renamed(Path checkpoint, String member) {
                Runtime.getRuntime().halt(HALTED);
            }
        }, settings);
        Eviction e = new Eviction(site.registered(site.lit(0)), EvictionCause.POLICY, List.of());
        enforcer.enforce(site.rootConfig, site.root, List.of(e), false, site.clock.instant());
        System.exit(0);
    }
}
