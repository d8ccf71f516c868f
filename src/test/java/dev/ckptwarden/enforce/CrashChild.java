package dev.ckptwarden.enforce;

import dev.ckptwarden.policy.EvictionCause;
import dev.ckptwarden.registry.Registered;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The process {@link EnforcerCrashTest} kills: evicts every registered checkpoint of a root
 * (protected ones included, as a careless caller might) and says on stdout when it starts and after
 * each rename into the trash, so the parent can kill it at a chosen point.
 *
 * <p>Arguments: root directory, state directory, and optionally {@code --step}: then after each
 * rename it waits for a line on stdin before going on, so the parent can kill it exactly there.
 */
public final class CrashChild {
    private CrashChild() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true);
        boolean step = args.length > 2 && args[2].equals("--step");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (Site site = new Site(Path.of(args[0]), Path.of(args[1]))) {
            List<Eviction> all = new ArrayList<>();
            for (Registered c : site.registry.list(site.rootConfig.name(), null, false)) {
                all.add(new Eviction(c, EvictionCause.MANUAL, List.of()));
            }
            Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
                @Override
                public void renamed(Path checkpoint, String member) {
                    out.println("renamed " + checkpoint + " " + member);
                    if (step) {
                        try {
                            in.readLine();
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                }
            });
            out.println("ready " + all.size());
            EnforcementReport r = enforcer.enforce(site.rootConfig, site.root, all, false, site.clock.instant());
            out.println("done " + r.items().stream().filter(EnforcementReport.Item::removed).count());
        }
    }
}
