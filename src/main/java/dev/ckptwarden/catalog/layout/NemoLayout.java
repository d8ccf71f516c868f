package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * NeMo 2 / Megatron distributed checkpoint directories ({@code weights/} + {@code context/}, or
 * Megatron's {@code metadata.json} + {@code common.pt}). The {@code <name>-unfinished} marker beside a
 * checkpoint is handled for every layout by the cataloger.
 */
public final class NemoLayout implements DirectoryLayout {

    @Override
    public Framework framework() {
        return Framework.NEMO;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        return (dir.hasDir("weights") && dir.hasDir("context")) || (dir.hasFile("metadata.json") && dir.hasFile("common.pt"));
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException {
        boolean optimizer = files.stream().anyMatch(e -> e.name().contains("optim"));
        List<String> problems = new ArrayList<>();
        // The weights are a torch.distributed.checkpoint save (NeMo 2 in weights/, Megatron's torch_dist
        // format at the top): its .metadata names every storage file the save consists of.
        String prefix = listing.hasDir("weights") ? "weights/" : "";
        boolean shards = files.stream().anyMatch(e -> e.name().startsWith(prefix) && e.name().endsWith(".distcp"));
        boolean metadata = files.stream().anyMatch(e -> e.name().equals(prefix + DcpLayout.METADATA) && e.isFile());
        if (metadata) {
            problems.addAll(DcpLayout.storageProblems(listing.source(), dir, files, prefix));
        } else if (shards) {
            problems.add(prefix + DcpLayout.METADATA + " missing beside the .distcp files (written last)");
        }
        return Inspection.of(Framework.NEMO, ParsedName.EMPTY, optimizer ? Boolean.TRUE : null, problems);
    }
}
