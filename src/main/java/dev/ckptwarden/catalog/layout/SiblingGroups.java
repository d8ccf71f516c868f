package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.Candidate;
import dev.ckptwarden.catalog.CheckpointKind;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;
import dev.ckptwarden.catalog.integrity.FileProbe;
import dev.ckptwarden.catalog.integrity.FileSource;
import dev.ckptwarden.catalog.integrity.Probe;
import dev.ckptwarden.catalog.integrity.ShardIndex;
import dev.ckptwarden.catalog.integrity.ShardIndexCheck;

import java.io.IOException;
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
 * The file checkpoints of {@link FileLayout} that are groups of sibling files: TensorFlow {@code prefix.index}
 * + {@code prefix.data-*}, and a sharded safetensors or torch set named by its index. Each claims its members so
 * they are not also taken as single files.
 */
final class SiblingGroups {
    private static final Pattern TF_DATA = Pattern.compile("(.+)\\.data-(\\d{5})-of-(\\d{5})");

    private SiblingGroups() {
    }

    /** TensorFlow checkpoints: each {@code stem.index} with its {@code stem.data-NNNNN-of-NNNNN} shards. */
    static void tensorflowGroups(Path runDir, String prefix, Listing listing, List<Candidate> out, Set<String> claimed) {
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
                    FileLayout.prefixed(prefix, files), members, inspector));
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

    /** Sharded sets: each {@code *.safetensors.index.json} or {@code *.bin.index.json} with the shards it names. */
    static void shardedSets(Path runDir, String prefix, Listing listing, List<Candidate> out, Set<String> claimed)
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
            out.add(new Candidate(runDir, prefix + n, indexPath, CheckpointKind.FILE, fw, FileLayout.prefixed(prefix, files), members,
                    inspector));
        }
    }
}
