package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.nio.file.Path;
import java.util.List;

/** Megatron-LM {@code iter_0000100/} directories with {@code mp_rank_XX/model_optim_rng.pt} per rank. */
public final class MegatronLayout implements DirectoryLayout {

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
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) {
        boolean any = files.stream().anyMatch(e -> e.name().endsWith(".pt"));
        Inspection i = Inspection.of(Framework.TORCH, ParsedName.EMPTY,
                files.stream().anyMatch(e -> e.name().endsWith("model_optim_rng.pt")) ? Boolean.TRUE : null, List.of());
        return any ? i : i.inProgress("no rank file written yet");
    }
}
