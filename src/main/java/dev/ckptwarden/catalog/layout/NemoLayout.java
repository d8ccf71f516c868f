package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.nio.file.Path;
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
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) {
        boolean optimizer = files.stream().anyMatch(e -> e.name().contains("optim"));
        return Inspection.of(Framework.NEMO, ParsedName.EMPTY, optimizer ? Boolean.TRUE : null, List.of());
    }
}
