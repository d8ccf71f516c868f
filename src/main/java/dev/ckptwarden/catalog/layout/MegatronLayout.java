package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;
import dev.ckptwarden.catalog.integrity.FileProbe;
import dev.ckptwarden.catalog.integrity.MegatronHeader;
import dev.ckptwarden.catalog.integrity.TorchMetadata;

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
 * Megatron-LM {@code iter_0000100/} directories with {@code mp_rank_XX/model_optim_rng.pt} per
 * tensor-parallel rank ({@code mp_rank_XX_PPP/} with pipeline parallelism). Megatron marks nothing in
 * the directory, but every rank file's pickled {@code args} records the parallel sizes: the save is
 * exactly one rank file per (tensor, pipeline) rank pair, and {@code distrib_optim.pt} beside each
 * when the distributed optimizer wrote one. Without a readable header, gaps in the rank numbers and
 * rank directories without their file are what can be seen.
 */
public final class MegatronLayout implements DirectoryLayout {
    private static final String RANK_FILE = "model_optim_rng.pt";
    private static final String DISTRIBUTED_OPTIMIZER = "distrib_optim.pt";
    private static final Pattern RANK_DIR = Pattern.compile("mp_rank_(\\d{2})(?:_(\\d{3}))?(?:_\\d{3})?");

    @Override
    public Framework framework() {
        return Framework.TORCH;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        if (!dir.name().matches("iter_\\d+")) {
            return false;
        }
        for (Entry e : dir.entries()) {
            if (e.isDirectory() && e.name().startsWith("mp_rank_")) {
                return true;
            }
        }
        return dir.entries().isEmpty();
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException {
        boolean any = files.stream().anyMatch(e -> e.name().endsWith(".pt"));
        Inspection i = Inspection.of(Framework.TORCH, ParsedName.EMPTY,
                files.stream().anyMatch(e -> e.name().endsWith(RANK_FILE)) ? Boolean.TRUE : null,
                any ? rankProblems(listing, dir, files) : List.of());
        return any ? i : i.inProgress("no rank file written yet");
    }

    private static List<String> rankProblems(Listing listing, Path dir, List<Entry> files) throws IOException {
        Set<String> present = new HashSet<>();
        List<String> rankDirs = new ArrayList<>();
        for (Entry e : files) {
            present.add(e.name());
            if (e.isDirectory() && RANK_DIR.matcher(e.name()).matches()) {
                rankDirs.add(e.name());
            }
        }
        boolean distributedOptimizer = rankDirs.stream().anyMatch(d -> present.contains(d + "/" + DISTRIBUTED_OPTIMIZER));
        MegatronHeader h = header(listing, dir, present);
        List<String> problems = new ArrayList<>();
        if (h != null && h.expertParallel() == 1) {
            for (int pp = 0; pp < h.pipelineParallel(); pp++) {
                for (int tp = 0; tp < h.tensorParallel(); tp++) {
                    String rank = h.pipelineParallel() > 1 ? String.format("mp_rank_%02d_%03d", tp, pp)
                            : String.format("mp_rank_%02d", tp);
                    String what = "missing rank " + tp + " of tensor_model_parallel_size " + h.tensorParallel()
                            + (h.pipelineParallel() > 1 ? ", stage " + pp + " of pipeline_model_parallel_size "
                            + h.pipelineParallel() : "") + ": ";
                    expect(present, rank + "/" + RANK_FILE, what, problems);
                    if (distributedOptimizer) {
                        expect(present, rank + "/" + DISTRIBUTED_OPTIMIZER, what, problems);
                    }
                }
            }
            return problems;
        }
        // No sizes to go by: every rank directory holds its file, and the rank numbers have no gap.
        TreeSet<Integer> tensorRanks = new TreeSet<>();
        for (String d : rankDirs) {
            expect(present, d + "/" + RANK_FILE, "", problems);
            Matcher m = RANK_DIR.matcher(d);
            if (m.matches()) {
                tensorRanks.add(Integer.parseInt(m.group(1)));
            }
        }
        for (int r = 0; !tensorRanks.isEmpty() && r < tensorRanks.last(); r++) {
            if (!tensorRanks.contains(r)) {
                problems.add("tensor-parallel rank " + r + " missing (ranks present: " + tensorRanks + ")");
                break;
            }
        }
        return problems;
    }

    private static void expect(Set<String> present, String file, String what, List<String> problems) {
        if (!present.contains(file) && problems.size() < 4) {
            problems.add(what.isEmpty() ? "missing " + file : what + file);
        }
    }

    /** The sizes rank 0's file records (its pickled header only), or null. */
    private static MegatronHeader header(Listing listing, Path dir, Set<String> present) throws IOException {
        for (String first : List.of("mp_rank_00/" + RANK_FILE, "mp_rank_00_000/" + RANK_FILE)) {
            if (present.contains(first)) {
                TorchMetadata torch = FileProbe.probe(listing.source(), dir.resolve(first)).torch();
                return torch == null ? null : torch.megatron();
            }
        }
        return null;
    }
}
