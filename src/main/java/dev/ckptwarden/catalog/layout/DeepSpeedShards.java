package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.integrity.ContentType;
import dev.ckptwarden.catalog.integrity.DeepSpeedHeader;
import dev.ckptwarden.catalog.integrity.FileProbe;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.catalog.integrity.Probe;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a DeepSpeed tag directory holds a complete shard set. DeepSpeed writes no marker and may
 * write {@code latest} before all ranks finish, but every model-states file records the save's
 * {@code dp_world_size} and {@code mp_world_size}: the set is exactly one
 * {@code mp_rank_XX_model_states.pt} per model-parallel rank (ZeRO-3: one
 * {@code zero_pp_rank_D_mp_rank_XX_model_states.pt} per rank pair) and, when the optimizer state is
 * sharded (ZeRO), one {@code [bf16_]zero_pp_rank_D_mp_rank_XX_optim_states.pt} per rank pair. A
 * missing highest rank leaves no gap in the numbers, so the numbers alone are used only when no
 * header can be read (an old DeepSpeed, a pipeline-parallel save whose layout differs, a file being written).
 */
final class DeepSpeedShards {
    private static final Pattern MP_MODEL = Pattern.compile("(?:.*_)?mp_rank_(\\d+)_model_states\\.pt");
    private static final Pattern ZERO = Pattern.compile("(?:bf16_)?zero_pp_rank_(\\d+)_mp_rank_(\\d+)_(optim|model)_states\\.pt");
    /** PipelineEngine saves per-layer files; its rank numbering is not the plain dp x mp grid. */
    private static final Pattern PIPELINE_LAYER = Pattern.compile("layer_\\d+-model_states\\.pt");
    /** How many missing files one problem list names before summarising the rest. */
    private static final int NAMED_MISSING = 4;

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

    /**
     * Problems that mean the shard set of the tag directory {@code tag} is incomplete; empty when complete.
     * Reads the pickled header of one model-states file (never its tensors) for the world sizes.
     */
    static List<String> problems(FileSource source, Path tag, List<String> shardNames) throws IOException {
        DeepSpeedHeader header = null;
        List<String> out = new ArrayList<>();
        String modelStates = shardNames.stream().anyMatch(n -> PIPELINE_LAYER.matcher(n).matches()) ? null
                : headerFile(shardNames);
        for (String n : shardNames) {
            // Each shard is a torch.save zip: one cut short (a rank killed mid-write, or still writing) has no
            // central directory. Legacy pickles and other bytes carry no such signal and pass on settle time.
            // An empty one is what ENOSPC (or a rank killed as it opened the file) leaves: no bytes are no shard.
            Probe probe = FileProbe.probe(source, tag.resolve(n));
            if (isZip(probe.type()) && !probe.intact() || probe.type() == ContentType.EMPTY) {
                out.add(n + ": " + probe.problems().get(0));
            }
            if (n.equals(modelStates) && probe.torch() != null) {
                header = probe.torch().deepSpeed();
            }
        }
        out.addAll(header == null ? gaps(shardNames) : missing(shardNames, header));
        return out;
    }

    private static boolean isZip(ContentType t) {
        return t == ContentType.TORCH_ZIP
                || t == ContentType.ZIP;
    }

    /** The model-states file whose header is read: rank 0's, else the first there is. */
    private static String headerFile(List<String> shardNames) {
        String first = null;
        for (String n : shardNames) {
            if (n.equals("mp_rank_00_model_states.pt") || n.equals("zero_pp_rank_0_mp_rank_00_model_states.pt")) {
                return n;
            }
            if (first == null && n.endsWith("_model_states.pt") && (MP_MODEL.matcher(n).matches())) {
                first = n;
            }
        }
        return first;
    }

    /** The files the recorded world sizes call for that are absent, one problem each (the first few named). */
    static List<String> missing(List<String> shardNames, DeepSpeedHeader h) {
        Set<String> present = new HashSet<>(shardNames);
        boolean zero3 = false;
        boolean zeroOptimizer = false;
        boolean bf16 = false;
        for (String n : shardNames) {
            Matcher z = ZERO.matcher(n);
            if (z.matches()) {
                zero3 |= z.group(3).equals("model");
                zeroOptimizer |= z.group(3).equals("optim");
                bf16 |= z.group(3).equals("optim") && n.startsWith("bf16_");
            }
        }
        List<String> problems = new ArrayList<>();
        int absent = 0;
        for (int mp = 0; mp < h.mpWorldSize(); mp++) {
            String mpRank = String.format("_mp_rank_%02d_", mp);
            if (zero3) {
                for (int dp = 0; dp < h.dpWorldSize(); dp++) {
                    absent += expect(present, "zero_pp_rank_" + dp + mpRank + "model_states.pt", h, dp, mp, true, problems);
                }
            } else {
                absent += expect(present, mpRank.substring(1) + "model_states.pt", h, 0, mp, false, problems);
            }
        }
        if (!zeroOptimizer && h.zeroStage() >= 1) {
            // The header says ZeRO keeps the optimizer state in per-rank files, and not one has appeared yet.
            zeroOptimizer = true;
            bf16 = h.bf16();
        }
        if (zeroOptimizer) { // without ZeRO the optimizer state is inside the model-states file
            for (int mp = 0; mp < h.mpWorldSize(); mp++) {
                for (int dp = 0; dp < h.dpWorldSize(); dp++) {
                    absent += expect(present, (bf16 ? "bf16_" : "") + "zero_pp_rank_" + dp
                            + String.format("_mp_rank_%02d_optim_states.pt", mp), h, dp, mp, true, problems);
                }
            }
        }
        if (absent > NAMED_MISSING) {
            problems.add(absent + " of the files dp_world_size " + h.dpWorldSize() + " x mp_world_size " + h.mpWorldSize()
                    + " call for are missing");
        }
        return problems;
    }

    private static int expect(Set<String> present, String name, DeepSpeedHeader h, int dp, int mp, boolean perDp,
                              List<String> problems) {
        if (present.contains(name)) {
            return 0;
        }
        if (problems.size() < NAMED_MISSING) {
            String dpRank = "rank " + dp + " of dp_world_size " + h.dpWorldSize();
            String mpRank = "rank " + mp + " of mp_world_size " + h.mpWorldSize();
            String rank = !perDp || h.dpWorldSize() == 1 && h.mpWorldSize() > 1 ? mpRank
                    : h.mpWorldSize() == 1 ? dpRank : dpRank + ", " + mpRank;
            problems.add("missing " + rank + ": " + name);
        }
        return 1;
    }

    /** Problems that mean the shard set is incomplete, from the rank numbers alone; empty when complete. */
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
