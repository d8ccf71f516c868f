package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;
import dev.ckptwarden.catalog.integrity.ContentType;
import dev.ckptwarden.catalog.integrity.FileProbe;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.catalog.integrity.Probe;
import dev.ckptwarden.catalog.integrity.TorchMetadata;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checkpoints that are files in a run directory: single files recognised by extension and content
 * ({@code .ckpt .pt .pth .bin .safetensors .h5 .keras .nemo}...), groups of sibling files
 * (TensorFlow {@code prefix.index} + {@code prefix.data-*}, a sharded safetensors set named by its
 * index), Lightning {@code last.ckpt} symlinks, and DeepSpeed's {@code latest} tag file.
 */
public final class FileLayout {
    private static final Set<String> EXTENSIONS = Set.of("ckpt", "pt", "pth", "bin", "safetensors", "h5", "hdf5",
            "keras", "nemo", "tar");
    /** Files that travel with checkpoints but are not checkpoints themselves. */
    private static final Set<String> AUXILIARY = Set.of("training_args.bin", "optimizer.pt", "optimizer.bin", "scheduler.pt",
            "scaler.pt", "rng_state.pth", "meta.pt", "common.pt");
    private static final Pattern COMPOSER = Pattern.compile("ep\\d+-ba\\d+-rank\\d+\\.(pt|tar)(\\.gz)?");
    private static final Pattern NEMO_STEP = Pattern.compile(".+-STEP-\\d+\\.pt");

    private FileLayout() {
    }

    /**
     * Candidates among the files of one directory.
     *
     * @param runDir   the run directory the checkpoints belong to
     * @param prefix   "" normally; "epoch=1-val/" when the listing is a Lightning split-metric sub-directory
     */
    public static List<Candidate> candidates(Path runDir, String prefix, Listing listing) throws IOException {
        List<Candidate> out = new ArrayList<>();
        Set<String> claimed = new HashSet<>();
        SiblingGroups.tensorflowGroups(runDir, prefix, listing, out, claimed);
        SiblingGroups.shardedSets(runDir, prefix, listing, out, claimed);
        for (Entry e : listing.entries()) {
            String n = e.name();
            if (claimed.contains(n)) {
                continue;
            }
            if (e.isSymlink() && isCheckpointName(n)) {
                out.add(symlinkAlias(runDir, prefix, listing, e));
            } else if (e.isFile() && n.equals("latest") && e.size() > 0 && e.size() <= 256) {
                Candidate c = deepSpeedLatest(runDir, prefix, listing, e);
                if (c != null) {
                    out.add(c);
                }
            } else if (e.isFile() && isCheckpointName(n)) {
                out.add(singleFile(runDir, prefix, listing, e));
            }
        }
        return out;
    }

    /** True when a file name has a checkpoint extension and is not an auxiliary or temporary file. */
    public static boolean isCheckpointName(String name) {
        if (AUXILIARY.contains(name) || name.startsWith("rng_state") || name.startsWith(".")) {
            return false;
        }
        if (name.endsWith("_optim_states.pt") || name.endsWith("_model_states.pt")) {
            return false; // DeepSpeed shards outside a tag directory are fragments
        }
        String lower = name.toLowerCase(Locale.ROOT);
        int dot = lower.lastIndexOf('.');
        if (dot < 0) {
            return false;
        }
        String ext = lower.substring(dot + 1);
        if (ext.equals("tar")) {
            return COMPOSER.matcher(name).matches() || lower.contains("checkpoint") || lower.contains("ckpt");
        }
        return EXTENSIONS.contains(ext);
    }

    private static Candidate symlinkAlias(Path runDir, String prefix, Listing listing, Entry e) {
        Path link = listing.dir().resolve(e.name());
        FileSource source = listing.source();
        Candidate.Inspector inspector = () -> {
            Path target = source.readSymbolicLink(link);
            Path resolved = link.getParent().resolve(target).normalize();
            List<String> problems = new ArrayList<>();
            // Only a stat through the link: its content is never read (it may point anywhere).
            if (source.typeOf(resolved, true) == null) {
                problems.add("dangling symlink to " + target);
            }
            return Inspection.of(frameworkByName(e.name()), ParsedName.EMPTY, null, problems).withAlias(resolved);
        };
        return new Candidate(runDir, prefix + e.name(), link, CheckpointKind.FILE, frameworkByName(e.name()),
                prefixed(prefix, List.of(e)), List.of(), inspector);
    }

    private static Candidate deepSpeedLatest(Path runDir, String prefix, Listing listing, Entry e) throws IOException {
        Path file = listing.dir().resolve(e.name());
        FileSource source = listing.source();
        String tag = readTag(source, file);
        if (tag == null) {
            return null;
        }
        Candidate.Inspector inspector = () -> {
            String current = readTag(source, file);
            if (current == null) {
                return Inspection.rejected("'latest' does not hold a DeepSpeed tag");
            }
            Path target = file.getParent().resolve(current).normalize();
            List<String> problems = new ArrayList<>();
            if (source.typeOf(target, false) != FileSource.Kind.DIRECTORY) {
                problems.add("latest names tag '" + current + "' which does not exist here");
            }
            return Inspection.of(Framework.DEEPSPEED, ParsedName.EMPTY, null, problems).withAlias(target);
        };
        return new Candidate(runDir, prefix + e.name(), file, CheckpointKind.FILE, Framework.DEEPSPEED,
                prefixed(prefix, List.of(e)), List.of(), inspector);
    }

    /** DeepSpeed writes the tag without a trailing newline; anything multi-line or spaced is not a tag. */
    static String readTag(FileSource source, Path file) throws IOException {
        byte[] bytes;
        if (source != FileSource.LOCAL) {
            bytes = source.readHead(file, 257);
        } else {
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(257);
            }
        }
        if (bytes.length == 0 || bytes.length > 256) {
            return null;
        }
        String tag = new String(bytes, StandardCharsets.UTF_8).strip();
        if (tag.isEmpty() || tag.contains("/") || tag.contains("\\") || tag.equals("..") || tag.matches(".*\\s.*")) {
            return null;
        }
        return tag;
    }

    private static Candidate singleFile(Path runDir, String prefix, Listing listing, Entry e) {
        Path file = listing.dir().resolve(e.name());
        String unfinishedMarker = unfinishedMarkerName(e.name());
        // The listing of this pass answers it: a marker that appears later is seen by the next pass.
        boolean unfinished = listing.has(unfinishedMarker);
        Candidate.Inspector inspector = () -> {
            Inspection i = inspectFile(listing.source(), file, e.name());
            if (unfinished) {
                i = i.withFramework(Framework.NEMO).inProgress("NeMo '" + unfinishedMarker + "' marker present");
            }
            return i;
        };
        return new Candidate(runDir, prefix + e.name(), file, CheckpointKind.FILE, frameworkByName(e.name()),
                prefixed(prefix, List.of(e)), List.of(), inspector, unfinished);
    }

    /** NeMo marks a save in progress with {@code <path without .ckpt/.nemo>-unfinished} beside it. */
    public static String unfinishedMarkerName(String name) {
        String stem = name;
        if (stem.endsWith(".ckpt")) {
            stem = stem.substring(0, stem.length() - 5);
        } else if (stem.endsWith(".nemo")) {
            stem = stem.substring(0, stem.length() - 5);
        }
        return stem + "-unfinished";
    }

    /** Reads headers of one file and decides framework, resumability and integrity. */
    public static Inspection inspectFile(Path file, String name) throws IOException {
        return inspectFile(FileSource.LOCAL, file, name);
    }

    /** As {@link #inspectFile(Path, String)}, reading from {@code source}. */
    public static Inspection inspectFile(FileSource source, Path file, String name) throws IOException {
        Probe probe = FileProbe.probe(source, file);
        if (probe.notACheckpoint()) {
            return Inspection.rejected(probe.notACheckpointReason());
        }
        Framework byName = frameworkByName(name);
        List<String> problems = new ArrayList<>(probe.problems());
        String lower = name.toLowerCase(Locale.ROOT);
        Framework framework = byName;
        Boolean resumable = null;
        ParsedName content = ParsedName.EMPTY;
        List<Path> references = new ArrayList<>();
        switch (probe.type()) {
            case TORCH_ZIP, TORCH_LEGACY -> {
                TorchMetadata meta = probe.torch();
                if (meta != null) {
                    framework = torchFramework(byName, lower, meta);
                    resumable = meta.hasOptimizerState();
                    content = new ParsedName(meta.epoch(), meta.globalStep(), Map.of(), null, false);
                    if (meta.bestModelPath() != null && !meta.bestModelPath().isBlank()) {
                        String p = meta.bestModelPath().replace('\\', '/');
                        String base = p.substring(p.lastIndexOf('/') + 1);
                        // Naming itself counts: it makes this the newest word on which one is best,
                        // superseding what older checkpoints named (retention skips self-references).
                        if (!base.isEmpty()) {
                            references.add(file.resolveSibling(base));
                        }
                    }
                }
            }
            case SAFETENSORS -> {
                framework = Framework.SAFETENSORS;
                resumable = false;
            }
            case KERAS_ZIP, HDF5 -> framework = Framework.KERAS;
            case EMPTY -> {
                if (problems.isEmpty()) {
                    problems.add("empty file (0 bytes)");
                }
            }
            default -> {
                if (lower.endsWith(".safetensors")) {
                    problems.add("not a safetensors file (" + probe.type().name().toLowerCase(Locale.ROOT) + ")");
                } else if ((lower.endsWith(".keras")) && probe.type() != ContentType.ZIP) {
                    problems.add("not a .keras zip archive");
                }
            }
        }
        return new Inspection(framework, content, resumable, problems, null, null, references, null);
    }

    private static Framework torchFramework(Framework byName, String lower, TorchMetadata meta) {
        if (byName == Framework.COMPOSER || byName == Framework.NEMO) {
            return byName;
        }
        Set<String> keys = meta.topLevelKeys();
        if (meta.lightningVersion() != null || keys.contains("pytorch-lightning_version")
                || keys.contains("state_dict") && (keys.contains("global_step") || keys.contains("callbacks"))) {
            return Framework.LIGHTNING;
        }
        if (keys.contains("rng") && keys.contains("state")) {
            return Framework.COMPOSER;
        }
        return lower.endsWith(".ckpt") ? Framework.LIGHTNING : Framework.TORCH;
    }

    /** The framework a file name alone suggests; refined by content on inspection. */
    public static Framework frameworkByName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (COMPOSER.matcher(name).matches()) {
            return Framework.COMPOSER;
        }
        if (lower.endsWith(".nemo") || NEMO_STEP.matcher(name).matches()
                || lower.endsWith(".ckpt") && (name.contains("--") || name.contains("consumed_samples"))) {
            return Framework.NEMO;
        }
        if (lower.endsWith(".ckpt")) {
            return Framework.LIGHTNING;
        }
        if (lower.endsWith(".safetensors")) {
            return Framework.SAFETENSORS;
        }
        if (lower.endsWith(".h5") || lower.endsWith(".hdf5") || lower.endsWith(".keras")) {
            return Framework.KERAS;
        }
        return Framework.TORCH;
    }

    /** The first and last 64 KiB of a file hashed: cheap, and zip central directories carry every entry's CRC. */
    public static String fingerprint(FileSource source, Path file, long size) throws IOException {
        return Fingerprint.of(source, file, size);
    }

    /** The entries named as the run directory sees them (with a split-metric sub-directory's prefix). */
    static List<Entry> prefixed(String prefix, List<Entry> files) {
        if (prefix.isEmpty()) {
            return files;
        }
        List<Entry> out = new ArrayList<>(files.size());
        for (Entry f : files) {
            out.add(new Entry(prefix + f.name(), f.type(), f.size(), f.mtimeMillis()));
        }
        return out;
    }
}
