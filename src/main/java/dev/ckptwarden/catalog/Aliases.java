package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.catalog.layout.FileLayout;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which checkpoints of one run directory are aliases of another: Lightning's {@code last.ckpt} written as a
 * byte-identical copy of a save (a symbolic link or DeepSpeed's {@code latest} is recognised by the layout
 * already), and what an alias reports: the facts of the checkpoint it names. Disk knowledge, so it lives in
 * the catalog; the reconciler only applies it to the checkpoints of a run it is settling.
 */
public final class Aliases {
    private static final Pattern LAST = Pattern.compile("last(-v\\d+)?\\.ckpt");

    private Aliases() {
    }

    /** Whether a file name is one Lightning gives its "last" copy. */
    public static boolean isLastName(String fileName) {
        return LAST.matcher(fileName).matches();
    }

    /**
     * Resolves the aliases among the checkpoints of one run directory, in place.
     *
     * @param run     every checkpoint of the run as found now; aliases are replaced by their resolved form
     * @param changed the subset (same instances) that is new or changed and will be registered; resolved aliases
     *                replace their entry, and an alias whose facts changed only through its target is added
     * @param known   the run's registered checkpoints by key: where a target is looked up when it is not in {@code run}
     */
    public static void resolve(FileSource source, List<Recognised> run, List<Recognised> changed,
                               Map<String, Checkpoint> known) {
        Map<Recognised, Integer> changedAt = indexOf(changed);
        for (int i = 0; i < run.size(); i++) {
            Recognised found = run.get(i);
            Checkpoint cp = found.checkpoint();
            Integer at = changedAt.get(found);
            // Only a new or changed last.ckpt is compared: an unchanged one keeps its registered verdict.
            if (at != null && cp.aliasOf() == null && cp.kind() == CheckpointKind.FILE && cp.name().startsWith("last")
                    && isLastName(cp.path().getFileName().toString())) {
                Checkpoint target = identicalSibling(source, cp, run);
                if (target != null) {
                    Recognised alias = found.withFacts(cp.withAlias(target.path()));
                    changed.set(at, alias);
                    run.set(i, alias);
                }
            }
        }
        takeFactsFromTargets(run, changed, known);
    }

    /**
     * An alias ({@code last.ckpt}, DeepSpeed's {@code latest}) is the checkpoint it names: it reports that
     * checkpoint's epoch, step, metrics and resumability where its own name and header say nothing. An
     * alias whose facts changed that way is registered again.
     */
    private static void takeFactsFromTargets(List<Recognised> run, List<Recognised> changed,
                                             Map<String, Checkpoint> known) {
        Map<Path, Checkpoint> byPath = new HashMap<>();
        for (Recognised c : run) {
            byPath.put(c.checkpoint().path(), c.checkpoint());
        }
        Map<Recognised, Integer> changedAt = indexOf(changed);
        for (int i = 0; i < run.size(); i++) {
            Recognised found = run.get(i);
            Checkpoint alias = found.checkpoint();
            // A corrupt alias (a dangling link, a 'latest' naming a tag that is gone) reports nothing of a target it
            // does not reach: not even the registry's row of it, which is only marked gone after this.
            if (alias.aliasOf() == null || found.state() == CheckpointState.CORRUPT) {
                continue;
            }
            Checkpoint target = byPath.get(alias.aliasOf());
            if (target == null) {
                target = known.get(alias.aliasOf().toString());
            }
            if (target == null || target.aliasOf() != null) {
                continue;
            }
            Checkpoint facts = alias.withFactsOf(target);
            if (!facts.equals(alias)) {
                Recognised informed = found.withFacts(facts);
                run.set(i, informed);
                Integer at = changedAt.get(found);
                if (at != null) {
                    changed.set(at, informed);
                } else {
                    changed.add(informed);
                }
            }
        }
    }

    private static Map<Recognised, Integer> indexOf(List<Recognised> list) {
        Map<Recognised, Integer> at = new IdentityHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            at.put(list.get(i), i);
        }
        return at;
    }

    /** The save of the same run that {@code last} is a byte-identical copy of (same size, same fingerprint), or null. */
    private static Checkpoint identicalSibling(FileSource source, Checkpoint last, List<Recognised> run) {
        String fp = null;
        for (Recognised found : run) {
            Checkpoint other = found.checkpoint();
            if (other == last || other.bytes() != last.bytes() || other.aliasOf() != null
                    || isLastName(other.path().getFileName().toString())
                    || other.kind() != CheckpointKind.FILE) {
                continue;
            }
            try {
                if (fp == null) {
                    fp = FileLayout.fingerprint(source, last.path(), last.bytes());
                }
                if (fp.equals(FileLayout.fingerprint(source, other.path(), other.bytes()))) {
                    return other;
                }
            } catch (IOException e) {
                return null;
            }
        }
        return null;
    }
}
