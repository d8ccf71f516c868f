package dev.ckptwarden.enforce;

import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.policy.EvictionCause;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The process {@link BatchCrashTest} kills: evicts every registered checkpoint of a root (pinned ones
 * included, as a careless caller might) in batches of the given size, and stops after each step of the
 * protocol it can be told of (a batch's points, each rename) until a line arrives on stdin, so the parent
 * kills it exactly there. Each step's line carries the audit log's durable size at that moment.
 *
 * <p>Arguments: root directory, state directory, batch size.
 */
public final class BatchCrashChild {
    private BatchCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (Site site = new Site(Path.of(args[0]), Path.of(args[1]))) {
            List<Eviction> all = new ArrayList<>();
            for (Registered c : site.registry.list(site.rootConfig.name(), null, false)) {
                all.add(new Eviction(c, EvictionCause.MANUAL, List.of()));
                out.println("evict " + c.key());
            }
            Enforcer enforcer = new Enforcer(site.registry, site.audit, new EnforcementListener() {
                @Override
                public void reached(BatchPoint point, int evictions) {
                    step("point " + point + " " + evictions);
                }

                @Override
                public void renamed(Path checkpoint, String member) {
                    step("renamed " + checkpoint);
                }

                private void step(String what) {
                    out.println(what + " durable=" + site.audit.durableSize());
                    try {
                        in.readLine();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            });
            enforcer.batchSize(Integer.parseInt(args[2]));
            out.println("ready " + all.size());
            EnforcementReport r = enforcer.enforce(site.rootConfig, site.root, all, false, site.clock.instant());
            out.println("done " + r.items().stream().filter(EnforcementReport.Item::removed).count());
        }
    }
}
