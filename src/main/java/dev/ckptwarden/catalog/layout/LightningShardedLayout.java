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
 * Lightning's directory checkpoints ({@code epoch=3-step=100.ckpt/}): FSDP/DCP saves write
 * {@code meta.pt} last; the DeepSpeed strategy writes {@code checkpoint/} shards plus {@code latest}.
 */
public final class LightningShardedLayout implements DirectoryLayout {

    @Override
    public Framework framework() {
        return Framework.LIGHTNING;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        return dir.name().endsWith(".ckpt");
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException {
        List<String> problems = new ArrayList<>();
        if (listing.hasDir("checkpoint")) {
            // DeepSpeed strategy: <name>.ckpt/checkpoint/<tag>/..., 'latest' names the tag.
            List<String> shards = new ArrayList<>();
            for (Entry e : files) {
                if (e.name().startsWith("checkpoint/") && DeepSpeedShards.isShardName(e.name().substring(e.name().lastIndexOf('/') + 1))) {
                    shards.add(e.name().substring(e.name().lastIndexOf('/') + 1));
                }
            }
            // The strategy saves with tag "checkpoint": the shards sit directly in checkpoint/, and the
            // model-states header there records how many there must be.
            List<String> tagShards = DeepSpeedShards.shardNames(files, "checkpoint/");
            Inspection i = Inspection.of(Framework.LIGHTNING, ParsedName.EMPTY, shards.isEmpty() ? null : DeepSpeedShards.hasOptimizer(shards),
                    tagShards.isEmpty() ? DeepSpeedShards.gaps(shards)
                            : DeepSpeedShards.problems(listing.source(), dir.resolve("checkpoint"), tagShards));
            boolean latest = files.stream().anyMatch(e -> e.name().equals("checkpoint/latest") || e.name().equals("latest"));
            return latest ? i : i.inProgress("DeepSpeed 'latest' tag not written yet");
        }
        Boolean resumable = listing.hasFile(DcpLayout.METADATA) ? DcpLayout.hasOptimizerKeys(listing.source(), dir.resolve(DcpLayout.METADATA)) : null;
        if (listing.hasFile(DcpLayout.METADATA)) {
            problems.addAll(DcpLayout.storageProblems(listing.source(), dir, files, ""));
        }
        Inspection i = Inspection.of(Framework.LIGHTNING, ParsedName.EMPTY, resumable, problems);
        return listing.hasFile("meta.pt") ? i : i.inProgress("meta.pt not written yet (Lightning writes it last)");
    }
}
