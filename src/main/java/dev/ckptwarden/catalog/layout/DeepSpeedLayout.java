package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A DeepSpeed tag directory ({@code global_stepN/} or a custom tag) holding per-rank
 * {@code *_model_states.pt} and {@code *_optim_states.pt}. Complete only when the shard set is.
 */
public final class DeepSpeedLayout implements DirectoryLayout {

    @Override
    public Framework framework() {
        return Framework.DEEPSPEED;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        if (dir.name().matches("global_step_?\\d+") && dir.entries().isEmpty()) {
            return true; // being created
        }
        for (Entry e : dir.entries()) {
            if (e.isFile() && DeepSpeedShards.isShardName(e.name())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException {
        List<String> shards = DeepSpeedShards.shardNames(files, "");
        List<String> gaps = DeepSpeedShards.problems(listing.source(), dir, shards);
        Inspection i = Inspection.of(Framework.DEEPSPEED, ParsedName.EMPTY,
                shards.isEmpty() ? null : DeepSpeedShards.hasOptimizer(shards), List.of());
        // Ranks appear one by one while a save runs: a missing one is a save in progress until it settles
        // (and its grace passes, see StateJudge), and then a broken save.
        return gaps.isEmpty() ? i : new Inspection(i.framework(), i.content(), i.resumable(), gaps, null, null, List.of(), null);
    }
}
