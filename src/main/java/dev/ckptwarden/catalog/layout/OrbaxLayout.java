package dev.ckptwarden.catalog.layout;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Orbax step directories. A directory named {@code <step>.orbax-checkpoint-tmp-<n>} is a save in
 * progress (Orbax renames it when committed); {@code _CHECKPOINT_METADATA} carries the commit
 * timestamp and metrics; {@code commit_success.txt} is the marker on file systems without atomic rename.
 */
public final class OrbaxLayout implements DirectoryLayout {
    static final String CHECKPOINT_METADATA = "_CHECKPOINT_METADATA";
    private static final Pattern TMP = Pattern.compile(".*\\.orbax-checkpoint-tmp-\\d+");
    private static final Pattern STEP = Pattern.compile("(?:.*_)?\\d+");

    @Override
    public Framework framework() {
        return Framework.ORBAX;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) throws IOException {
        if (TMP.matcher(dir.name()).matches() || dir.hasFile(CHECKPOINT_METADATA) || dir.hasFile("orbax.checkpoint")
                || dir.hasFile("commit_success.txt")) {
            return true;
        }
        if (dir.hasFile("_METADATA") && (dir.has("manifest.ocdbt") || dir.hasFile("_sharding"))) {
            return true;
        }
        // Older CheckpointManager step dirs: "<step>/" holding item dirs ("default/", "state/") with _METADATA.
        if (STEP.matcher(dir.name()).matches()) {
            for (Entry e : dir.entries()) {
                if (e.isDirectory()) {
                    Listing item = reader.list(dir.dir().resolve(e.name()));
                    if (item.hasFile("_METADATA") || item.hasFile("checkpoint") && item.has("manifest.ocdbt")) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) {
        List<String> problems = new ArrayList<>();
        Map<String, Double> metrics = new LinkedHashMap<>();
        String inProgress = null;
        if (TMP.matcher(listing.name()).matches()) {
            inProgress = "Orbax temporary directory, not committed yet";
        }
        if (listing.hasFile(CHECKPOINT_METADATA)) {
            try {
                JsonNode meta = JsonFiles.read(listing.source(), dir.resolve(CHECKPOINT_METADATA));
                metrics.putAll(JsonFiles.numbers(meta.get("metrics")));
                if (inProgress == null && meta.has("init_timestamp_nsecs") && !meta.hasNonNull("commit_timestamp_nsecs")
                        && !listing.hasFile("commit_success.txt")) {
                    inProgress = "_CHECKPOINT_METADATA has no commit timestamp yet";
                }
            } catch (IOException e) {
                problems.add("_CHECKPOINT_METADATA does not parse: " + e.getMessage());
            }
        }
        if (listing.hasDir("metrics")) {
            try {
                metrics.putAll(JsonFiles.numbers(JsonFiles.read(listing.source(), dir.resolve("metrics").resolve("metrics"))));
            } catch (IOException e) {
                // A missing or partial metrics item is not a broken checkpoint; the state item is what matters.
            }
        }
        Long step = name.step();
        if (step == null && STEP.matcher(listing.name()).matches()) {
            String digits = listing.name().replaceAll(".*?(\\d+)$", "$1");
            step = Long.parseLong(digits);
        }
        ParsedName content = new ParsedName(null, step, metrics, null, false);
        return new Inspection(Framework.ORBAX, content, null, problems, inProgress, null, List.of(), null);
    }
}
