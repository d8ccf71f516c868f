package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;
import dev.ckptwarden.catalog.integrity.ContentType;
import dev.ckptwarden.catalog.integrity.FileProbe;
import dev.ckptwarden.catalog.integrity.Probe;
import dev.ckptwarden.catalog.integrity.ShardIndex;
import dev.ckptwarden.catalog.integrity.ShardIndexCheck;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Hugging Face Trainer {@code checkpoint-N/}: no commit marker, but {@code trainer_state.json} is
 * written last and must parse; weights must be present and sharded indexes must name only shards
 * that exist and pass their own header check. Resumable when {@code optimizer.pt} (or DeepSpeed
 * optimizer shards) is present; {@code save_only_model} saves are weights only.
 */
public final class HuggingFaceLayout implements DirectoryLayout {
    static final String TRAINER_STATE = "trainer_state.json";
    private static final Pattern CHECKPOINT_DIR = Pattern.compile("checkpoint-\\d+");
    private static final Pattern INDEXED_SHARD = Pattern.compile(".*-\\d{5}-of-\\d{5}\\.safetensors");
    private static final Set<String> HF_FILES = Set.of(TRAINER_STATE, "training_args.bin", "optimizer.pt", "scheduler.pt",
            "rng_state.pth", "model.safetensors", "pytorch_model.bin", "adapter_model.safetensors", "adapter_model.bin",
            "model.safetensors.index.json", "pytorch_model.bin.index.json");
    @Override
    public Framework framework() {
        return Framework.HUGGINGFACE;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        boolean named = CHECKPOINT_DIR.matcher(dir.name()).matches();
        if (dir.hasFile(TRAINER_STATE) && !named) {
            // An output_dir holds the final trainer_state.json too: it is a checkpoint (a final save) only
            // when weights sit beside it and it is not the parent of checkpoint-N/ directories.
            return hasWeights(dir) && !hasCheckpointSubdirs(dir);
        }
        if (!named) {
            return false;
        }
        if (dir.entries().isEmpty()) {
            return true; // being created
        }
        for (Entry e : dir.entries()) {
            if (HF_FILES.contains(e.name()) || e.name().startsWith("rng_state")
                    || (e.isDirectory() && e.name().startsWith("global_step"))) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasWeights(Listing dir) {
        for (Entry e : dir.entries()) {
            String n = e.name();
            if (e.isFile() && (n.endsWith(".safetensors") || n.endsWith(".index.json")
                    || n.startsWith("pytorch_model") && n.endsWith(".bin") || n.startsWith("adapter_model"))) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasCheckpointSubdirs(Listing dir) {
        for (Entry e : dir.entries()) {
            if (e.isDirectory() && CHECKPOINT_DIR.matcher(e.name()).matches()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException {
        List<String> problems = new ArrayList<>();
        List<Path> references = new ArrayList<>();
        ParsedName content = ParsedName.EMPTY;
        String inProgress = null;
        if (!listing.hasFile(TRAINER_STATE)) {
            inProgress = "trainer_state.json not written yet (the Trainer writes it last)";
        } else {
            try {
                TrainerState state = TrainerState.read(listing.source(), dir.resolve(TRAINER_STATE));
                content = state.content();
                Path best = bestModelCheckpoint(state.bestModelCheckpoint(), dir.getParent());
                if (best != null) {
                    references.add(best);
                }
            } catch (IOException e) {
                problems.add("trainer_state.json does not parse: " + oneLine(e));
            }
        }
        boolean weights = false;
        boolean optimizer = listing.hasFile("optimizer.pt") || listing.hasFile("optimizer.bin");
        for (Entry e : listing.entries()) {
            String n = e.name();
            if (e.isFile() && n.endsWith(".index.json")) {
                weights = true;
                ShardIndex index = ShardIndexCheck.read(listing.source(), dir.resolve(n));
                problems.addAll(index.problems());
            } else if (e.isFile() && (n.endsWith(".safetensors") || n.endsWith(".bin") && !n.equals("training_args.bin")
                    || n.endsWith(".h5") || n.endsWith(".msgpack"))) {
                weights = true;
                if (n.endsWith(".safetensors") && !isIndexedShard(listing, n)) {
                    Probe p = FileProbe.probe(listing.source(), dir.resolve(n));
                    if (p.type() != ContentType.SAFETENSORS) {
                        problems.add(n + ": not a safetensors file (" + p.type().name().toLowerCase() + ")");
                    }
                    for (String pr : p.problems()) {
                        problems.add(n + ": " + pr);
                    }
                }
            } else if (e.isDirectory() && n.startsWith("global_step")) {
                weights = true;
                List<String> shards = DeepSpeedShards.shardNames(files, n + "/");
                for (String gap : DeepSpeedShards.problems(listing.source(), dir.resolve(n), shards)) {
                    problems.add(n + ": " + gap);
                }
                optimizer |= DeepSpeedShards.hasOptimizer(shards);
            }
        }
        if (!weights && inProgress == null) {
            problems.add("no model weights (model.safetensors, pytorch_model.bin or adapter_model.* missing)");
        }
        Inspection base = new Inspection(Framework.HUGGINGFACE, content, weights ? optimizer : null, problems, inProgress,
                null, references, null);
        return base;
    }

    private static boolean isIndexedShard(Listing listing, String name) {
        // Shards named by an index are checked through the index (once), not one by one here.
        return INDEXED_SHARD.matcher(name).matches()
                && listing.hasFile("model.safetensors.index.json");
    }

    /** Resolves {@code best_model_checkpoint} to a sibling directory of this checkpoint, whatever OS wrote it. */
    static Path bestModelCheckpoint(String best, Path runDir) {
        if (best == null || best.isBlank() || runDir == null) {
            return null;
        }
        String text = best.replace('\\', '/');
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        String base = text.substring(text.lastIndexOf('/') + 1);
        return base.isEmpty() ? null : runDir.resolve(base);
    }

    private static String oneLine(IOException e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
