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
import dev.ckptwarden.catalog.integrity.ShardIndex;
import dev.ckptwarden.catalog.integrity.ShardIndexCheck;
import dev.ckptwarden.catalog.integrity.TorchMetadata;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
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
    private static final Pattern TF_DATA = Pattern.compile("(.+)\\.data-(\\d{5})-of-(\\d{5})");
    private static final Pattern COMPOSER = Pattern.compile("ep\\d+-ba\\d+-rank\\d+\\.(pt|tar)(\\.gz)?");
    private static final Pattern NEMO_STEP = Pattern.compile(".+-STEP-\\d+\\.pt");
    private static final int FINGERPRINT_SPAN = 64 * 1024;

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
        tensorflowGroups(runDir, prefix, listing, out, claimed);
        shardedSets(runDir, prefix, listing, out, claimed);
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

    private static void tensorflowGroups(Path runDir, String prefix, Listing listing, List<Candidate> out, Set<String> claimed) {
        Map<String, List<Entry>> groups = new LinkedHashMap<>();
        for (Entry e : listing.entries()) {
            if (!e.isFile()) {
                continue;
            }
            String n = e.name();
            Matcher m = TF_DATA.matcher(n);
            if (n.endsWith(".index") && !n.endsWith(".index.json")) {
                groups.computeIfAbsent(n.substring(0, n.length() - ".index".length()), k -> new ArrayList<>()).add(e);
            } else if (m.matches()) {
                groups.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(e);
            }
        }
        for (Map.Entry<String, List<Entry>> g : groups.entrySet()) {
            String stem = g.getKey();
            List<Entry> files = g.getValue();
            List<String> members = new ArrayList<>();
            for (Entry f : files) {
                members.add(prefix + f.name());
                claimed.add(f.name());
            }
            Path dir = listing.dir();
            Candidate.Inspector inspector = () -> inspectTensorflow(listing.source(), dir, stem, files);
            out.add(new Candidate(runDir, prefix + stem, dir.resolve(stem), CheckpointKind.FILE, Framework.TENSORFLOW,
                    prefixed(prefix, files), members, inspector));
        }
    }

    private static Inspection inspectTensorflow(FileSource source, Path dir, String stem, List<Entry> files)
            throws IOException {
        List<String> problems = new ArrayList<>();
        Entry index = null;
        int expected = -1;
        Set<Integer> shards = new HashSet<>();
        for (Entry f : files) {
            Matcher m = TF_DATA.matcher(f.name());
            if (m.matches()) {
                shards.add(Integer.parseInt(m.group(2)));
                expected = Integer.parseInt(m.group(3));
            } else {
                index = f;
            }
        }
        if (index == null) {
            return Inspection.of(Framework.TENSORFLOW, ParsedName.EMPTY, null, problems)
                    .inProgress(stem + ".index not written yet (TensorFlow writes it last)");
        }
        Probe p = FileProbe.probe(source, dir.resolve(index.name()));
        for (String pr : p.problems()) {
            problems.add(index.name() + ": " + pr);
        }
        if (expected < 0) {
            problems.add("no data shard " + stem + ".data-00000-of-NNNNN");
        } else {
            for (int i = 0; i < expected; i++) {
                if (!shards.contains(i)) {
                    problems.add(String.format(Locale.ROOT, "data shard %s.data-%05d-of-%05d missing", stem, i, expected));
                }
            }
        }
        return Inspection.of(Framework.TENSORFLOW, ParsedName.EMPTY, null, problems);
    }

    private static void shardedSets(Path runDir, String prefix, Listing listing, List<Candidate> out, Set<String> claimed)
            throws IOException {
        for (Entry e : listing.entries()) {
            String n = e.name();
            if (!e.isFile() || !(n.endsWith(".safetensors.index.json") || n.endsWith(".bin.index.json"))) {
                continue;
            }
            Path indexPath = listing.dir().resolve(n);
            ShardIndex index;
            try {
                index = ShardIndexCheck.read(listing.source(), indexPath);
            } catch (IOException ex) {
                index = null;
            }
            List<Entry> files = new ArrayList<>();
            List<String> members = new ArrayList<>();
            files.add(e);
            members.add(prefix + n);
            claimed.add(n);
            if (index != null) {
                for (String shard : index.shardFiles()) {
                    Entry s = listing.get(shard);
                    claimed.add(shard);
                    if (s != null) {
                        files.add(s);
                        members.add(prefix + shard);
                    }
                }
            }
            Framework fw = n.endsWith(".bin.index.json") ? Framework.TORCH : Framework.SAFETENSORS;
            Candidate.Inspector inspector = () -> {
                ShardIndex fresh = ShardIndexCheck.read(listing.source(), indexPath);
                return Inspection.of(fw, ParsedName.EMPTY, false, fresh.problems());
            };
            out.add(new Candidate(runDir, prefix + n, indexPath, CheckpointKind.FILE, fw, prefixed(prefix, files), members,
                    inspector));
        }
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
        Candidate.Inspector inspector = () -> {
            Inspection i = inspectFile(listing.source(), file, e.name());
            // The listing of this pass answers it: a marker that appears later is seen by the next pass.
            if (listing.has(unfinishedMarker)) {
                i = i.withFramework(Framework.NEMO).inProgress("NeMo '" + unfinishedMarker + "' marker present");
            }
            return i;
        };
        return new Candidate(runDir, prefix + e.name(), file, CheckpointKind.FILE, frameworkByName(e.name()),
                prefixed(prefix, List.of(e)), List.of(), inspector);
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
        if (source == FileSource.LOCAL) {
            return fingerprint(file, size);
        }
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
        try (var ch = source.open(file)) {
            md.update(FileSource.readAt(ch, 0, (int) Math.min(FINGERPRINT_SPAN, Math.max(size, 1))));
            if (size > FINGERPRINT_SPAN) {
                md.update(FileSource.readAt(ch, Math.max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN), FINGERPRINT_SPAN));
            }
        }
        md.update(Long.toString(size).getBytes(StandardCharsets.US_ASCII));
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /** The first and last 64 KiB of a local file hashed (not following a symbolic link). */
    public static String fingerprint(Path file, long size) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
                java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            java.security.MessageDigest md;
            try {
                md = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException ex) {
                throw new IllegalStateException(ex);
            }
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) Math.min(FINGERPRINT_SPAN, Math.max(size, 1)));
            readAt(ch, buf, 0);
            md.update(buf.flip());
            if (size > FINGERPRINT_SPAN) {
                buf.clear();
                readAt(ch, buf, Math.max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN));
                md.update(buf.flip());
            }
            md.update(Long.toString(size).getBytes(StandardCharsets.US_ASCII));
            return java.util.HexFormat.of().formatHex(md.digest());
        }
    }

    private static void readAt(java.nio.channels.FileChannel ch, java.nio.ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                break;
            }
            pos += n;
        }
    }

    private static List<Entry> prefixed(String prefix, List<Entry> files) {
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
