package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.Entry;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a DeepSpeed tag directory holds a complete shard set: every model-parallel rank's
 * {@code mp_rank_XX_model_states.pt} and, for ZeRO, every data-parallel rank's optimizer shard.
 * DeepSpeed writes no marker and may write {@code latest} before all ranks finish, so a gap in the
 * rank numbers is the only signal that a save is still running (or died).
 */
final class DeepSpeedShards {
    private static final Pattern MP_MODEL = Pattern.compile("(?:.*_)?mp_rank_(\\d+)_model_states\\.pt");
    private static final Pattern ZERO = Pattern.compile("(?:bf16_)?zero_pp_rank_(\\d+)_mp_rank_(\\d+)_(optim|model)_states\\.pt");

    private DeepSpeedShards() {
    }

    static boolean isShardName(String name) {
        return name.endsWith("_model_states.pt") || name.endsWith("_optim_states.pt");
    }

    /** Shard file names directly in a tag directory (paths relative to it without '/'). */
    static List<String> shardNames(List<Entry> files, String prefix) {
        List<String> out = new ArrayList<>();
        for (Entry e : files) {
            String n = e.name();
            if (n.startsWith(prefix) && n.indexOf('/', prefix.length()) < 0 && isShardName(n.substring(prefix.length()))) {
                out.add(n.substring(prefix.length()));
            }
        }
        return out;
    }

    /** Problems that mean the shard set is incomplete; empty when complete. */
    static List<String> gaps(List<String> shardNames) {
        TreeSet<Integer> mpRanks = new TreeSet<>();
        TreeSet<Integer> optimDp = new TreeSet<>();
        TreeSet<Integer> zeroModelDp = new TreeSet<>();
        for (String n : shardNames) {
            Matcher z = ZERO.matcher(n);
            if (z.matches()) {
                int dp = Integer.parseInt(z.group(1));
                if (z.group(3).equals("optim")) {
                    optimDp.add(dp);
                } else {
                    zeroModelDp.add(dp);
                }
                continue;
            }
            Matcher m = MP_MODEL.matcher(n);
            if (m.matches()) {
                mpRanks.add(Integer.parseInt(m.group(1)));
            }
        }
        List<String> problems = new ArrayList<>();
        if (mpRanks.isEmpty() && zeroModelDp.isEmpty()) {
            problems.add("no *_model_states.pt shard");
        }
        missing("model-parallel rank", mpRanks, problems);
        missing("optimizer shard of data-parallel rank", optimDp, problems);
        missing("model shard of data-parallel rank", zeroModelDp, problems);
        if (!zeroModelDp.isEmpty() && !optimDp.isEmpty() && !zeroModelDp.equals(optimDp)) {
            problems.add("ZeRO model and optimizer shards cover different ranks " + zeroModelDp + " vs " + optimDp);
        }
        return problems;
    }

    static boolean hasOptimizer(List<String> shardNames) {
        for (String n : shardNames) {
            if (n.endsWith("_optim_states.pt")) {
                return true;
            }
        }
        return false;
    }

    private static void missing(String what, TreeSet<Integer> ranks, List<String> problems) {
        if (ranks.isEmpty()) {
            return;
        }
        for (int r = 0; r <= ranks.last(); r++) {
            if (!ranks.contains(r)) {
                problems.add(what + " " + r + " missing (ranks present: " + ranks + ")");
                return;
            }
        }
    }
}
