package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;
import dev.ckptwarden.catalog.integrity.ContentType;
import dev.ckptwarden.catalog.integrity.DcpMetadata;
import dev.ckptwarden.catalog.integrity.FileProbe;
import dev.ckptwarden.catalog.integrity.FileSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * torch.distributed.checkpoint directories: {@code __<rank>_<n>.distcp} payloads and a {@code .metadata}
 * pickle written last (as {@code .metadata.tmp}, then renamed), which names every storage file and
 * where its chunks end: all of them must be present and long enough. A {@code .metadata} that is not a
 * pickle (Flutter projects have one) does not make a directory a checkpoint.
 */
public final class DcpLayout implements DirectoryLayout {
    static final String METADATA = ".metadata";
    /** Bound on how much of .metadata is scanned for optimizer keys. */
    private static final int SCAN_LIMIT = 64 << 20;

    @Override
    public Framework framework() {
        return Framework.DCP;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) throws IOException {
        for (Entry e : dir.entries()) {
            if (e.isFile() && e.name().endsWith(".distcp")) {
                return true;
            }
        }
        if (dir.hasFile(METADATA + ".tmp")) {
            return true;
        }
        return dir.hasFile(METADATA) && FileProbe.probe(dir.source(), dir.dir().resolve(METADATA)).type() == ContentType.PICKLE;
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException {
        List<String> problems = new ArrayList<>();
        if (!listing.hasFile(METADATA)) {
            return Inspection.of(Framework.DCP, ParsedName.EMPTY, null, problems)
                    .inProgress(".metadata not written yet (DCP writes it last)");
        }
        ContentType type = FileProbe.probe(listing.source(), dir.resolve(METADATA)).type();
        if (type != ContentType.PICKLE) {
            problems.add(".metadata is not a pickle (" + type.name().toLowerCase() + ")");
        }
        boolean anyShard = files.stream().anyMatch(e -> e.name().endsWith(".distcp"));
        if (!anyShard) {
            problems.add("no .distcp shard");
        }
        if (type == ContentType.PICKLE) {
            problems.addAll(storageProblems(listing.source(), dir, files, ""));
        }
        return Inspection.of(Framework.DCP, ParsedName.EMPTY, type == ContentType.PICKLE ? hasOptimizerKeys(listing.source(), dir.resolve(METADATA)) : null,
                problems);
    }

    /**
     * Every storage file {@code .metadata} names must be there and hold the chunks it places in it: a rank
     * that died leaves {@code .metadata} (written by the coordinator) naming its absent {@code __<rank>_0.distcp}.
     */
    static List<String> storageProblems(FileSource source, Path checkpointDir, List<Entry> files, String prefix)
            throws IOException {
        Map<String, Long> required = DcpMetadata.requiredBytes(source, checkpointDir.resolve(prefix + METADATA));
        if (required == null) {
            return List.of();
        }
        Map<String, Entry> byName = new HashMap<>();
        for (Entry e : files) {
            if (e.name().startsWith(prefix)) {
                byName.put(e.name().substring(prefix.length()), e);
            }
        }
        List<String> problems = new ArrayList<>();
        int bad = 0;
        for (Map.Entry<String, Long> r : required.entrySet()) {
            Entry f = byName.get(r.getKey());
            String name = prefix + r.getKey();
            String problem = f == null || !f.isFile() ? "missing " + name + " named by " + prefix + METADATA
                    : f.size() < r.getValue() ? name + " is " + f.size() + " bytes, " + prefix + METADATA
                            + " places data up to byte " + r.getValue() + " (truncated?)" : null;
            if (problem != null && bad++ < 4) {
                problems.add(problem);
            }
        }
        if (bad > 4) {
            problems.add(bad + " of the " + required.size() + " storage files " + prefix + METADATA + " names are missing or short");
        }
        return problems;
    }

    /** DCP stores fully qualified state-dict keys in .metadata; optimizer state lives under "optim..." keys. */
    static Boolean hasOptimizerKeys(FileSource source, Path metadata) throws IOException {
        if (source != FileSource.LOCAL) {
            return new String(source.readHead(metadata, SCAN_LIMIT), StandardCharsets.ISO_8859_1).contains("optim");
        }
        try (InputStream in = Files.newInputStream(metadata)) {
            byte[] bytes = in.readNBytes(SCAN_LIMIT);
            String text = new String(bytes, StandardCharsets.ISO_8859_1);
            return text.contains("optim");
        }
    }
}
