package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.layout.DcpLayout;
import dev.ckptwarden.catalog.layout.DeepSpeedLayout;
import dev.ckptwarden.catalog.layout.DirectoryLayout;
import dev.ckptwarden.catalog.layout.FileLayout;
import dev.ckptwarden.catalog.layout.HuggingFaceLayout;
import dev.ckptwarden.catalog.layout.LightningShardedLayout;
import dev.ckptwarden.catalog.layout.MegatronLayout;
import dev.ckptwarden.catalog.layout.NemoLayout;
import dev.ckptwarden.catalog.layout.OrbaxLayout;
import dev.ckptwarden.catalog.layout.SavedModelLayout;
import dev.ckptwarden.catalog.layout.StagingLayout;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Layout;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Decides, one directory at a time, which of its children are checkpoints: directory checkpoints
 * (by layout), file checkpoints (by extension and content), and which sub-directories to descend into.
 */
public final class Cataloger {
    /**
     * Name of the enforcer's trash directories: the root's, and one at each mount point of another file
     * system inside the root. Never catalogued, at any depth.
     */
    public static final String TRASH_DIR = ".ckpt-warden-trash";

    private static final DirectoryLayout STAGING = new StagingLayout();

    private final List<DirectoryLayout> layouts;
    private final NameParser names;

    public Cataloger(Layout layout, NameParser names) {
        this.names = names;
        this.layouts = layoutsFor(layout);
    }

    public NameParser names() {
        return names;
    }

    /**
     * Order matters: a Lightning {@code *.ckpt/} directory may hold DCP files; an HF checkpoint may hold a
     * DeepSpeed tag; a staging {@code tmp-checkpoint-N/} looks like a finished HF save.
     */
    private static List<DirectoryLayout> layoutsFor(Layout layout) {
        List<DirectoryLayout> all = List.of(new StagingLayout(), new LightningShardedLayout(), new HuggingFaceLayout(),
                new NemoLayout(), new OrbaxLayout(), new DcpLayout(), new DeepSpeedLayout(), new SavedModelLayout(), new MegatronLayout());
        return switch (layout) {
            case AUTO -> all;
            case FILES, KERAS -> List.of();
            case LIGHTNING -> List.of(new LightningShardedLayout());
            case HUGGINGFACE -> List.of(new StagingLayout(), new HuggingFaceLayout(), new DeepSpeedLayout());
            case DEEPSPEED -> List.of(new DeepSpeedLayout());
            case ORBAX -> List.of(new OrbaxLayout());
            case DCP -> List.of(new DcpLayout());
            case NEMO -> List.of(new NemoLayout(), new MegatronLayout());
        };
    }

    /** What one directory holds. */
    public record Findings(List<Candidate> candidates, List<Path> descendInto) {
    }

    /**
     * Examines one directory of a root.
     *
     * @param dir    the directory's listing
     * @param reader lists sub-directories (cached by the caller so a descent does not list twice)
     */
    public Findings examine(Listing dir, DirectoryReader reader) throws IOException {
        return examine(dir, reader, p -> false);
    }

    /**
     * Examines one directory of a root, taking the sub-directories {@code notCheckpoints} accepts for what an
     * earlier look found them to be, directories to descend into, without listing them (a pass scoped to this
     * directory's own entries: a change inside one of them is heard in it).
     */
    public Findings examine(Listing dir, DirectoryReader reader, java.util.function.Predicate<Path> notCheckpoints)
            throws IOException {
        List<Candidate> candidates = new ArrayList<>(FileLayout.candidates(dir.dir(), "", dir));
        List<Path> descend = new ArrayList<>();
        List<Path> subdirectories = new ArrayList<>();
        List<Path> toList = new ArrayList<>();
        for (Entry e : dir.entries()) {
            if (e.isDirectory() && !e.name().equals(TRASH_DIR)) {
                Path sub = dir.dir().resolve(e.name());
                subdirectories.add(sub);
                if (!notCheckpoints.test(sub)) {
                    toList.add(sub);
                }
            }
        }
        reader.prefetch(toList);
        int next = 0;
        for (Entry e : dir.entries()) {
            if (!e.isDirectory() || e.name().equals(TRASH_DIR)) {
                continue;
            }
            Path sub = subdirectories.get(next++);
            if (notCheckpoints.test(sub)) {
                descend.add(sub);
                continue;
            }
            Listing subListing;
            try {
                subListing = reader.list(sub);
            } catch (NoSuchFileException gone) {
                continue; // removed since this directory was listed (a rotated checkpoint-N/): not there
            } catch (IOException unreadable) {
                // Hand it to the walker, which lists it again and reports the problem against it: one
                // unreadable sub-directory must not cost its siblings.
                descend.add(sub);
                continue;
            }
            try {
                DirectoryLayout layout = match(subListing, reader);
                if (layout != null) {
                    candidates.add(directoryCandidate(dir.dir(), sub, subListing, layout, reader));
                } else if (NameParser.isSplitMetricDirectory(e.name(), checkpointFileNames(subListing))) {
                    candidates.addAll(FileLayout.candidates(dir.dir(), e.name() + "/", subListing));
                } else {
                    descend.add(sub);
                }
            } catch (NoSuchFileException gone) {
                // Part of it vanished while being read: it is being removed; the next pass sees what is left.
            }
        }
        return new Findings(candidates, descend);
    }

    /** The layout a directory matches, or null when it is not a directory checkpoint. */
    public DirectoryLayout match(Listing listing, DirectoryReader reader) throws IOException {
        for (DirectoryLayout l : layouts) {
            if (l.matches(listing, reader)) {
                return l;
            }
        }
        // Beside a NeMo "-unfinished" marker a directory is a save in progress even while what it holds
        // matches no layout yet: its parts (a weights/ DCP save) must not count as checkpoints of their own.
        return StagingLayout.unfinished(listing, reader) ? STAGING : null;
    }

    private static List<String> checkpointFileNames(Listing listing) {
        List<String> out = new ArrayList<>();
        for (Entry e : listing.entries()) {
            if ((e.isFile() || e.isSymlink()) && FileLayout.isCheckpointName(e.name())) {
                out.add(e.name());
            }
        }
        return out;
    }

    /** A directory checkpoint: every file inside belongs to it (symlinks inside are listed, never followed). */
    public Candidate directoryCandidate(Path runDir, Path dir, Listing listing, DirectoryLayout layout, DirectoryReader reader)
            throws IOException {
        List<Entry> files = new ArrayList<>();
        Deque<String> pending = new ArrayDeque<>();
        if (hasNoDirectory(listing)) {
            files = listing.entries(); // already the sorted list of its files (the common HF checkpoint-N/)
        } else {
            pending.push("");
        }
        while (!pending.isEmpty()) {
            String rel = pending.pop();
            Listing l = rel.isEmpty() ? listing : reader.list(dir.resolve(rel));
            for (Entry e : l.entries()) {
                String name = rel.isEmpty() ? e.name() : rel + "/" + e.name();
                if (e.isDirectory()) {
                    pending.push(name);
                    files.add(new Entry(name, e.type(), 0, e.mtimeMillis()));
                } else {
                    files.add(new Entry(name, e.type(), e.size(), e.mtimeMillis()));
                }
            }
        }
        if (files != listing.entries()) {
            files.sort((a, b) -> a.name().compareTo(b.name()));
        }
        List<Entry> members = files;
        String name = dir.getFileName().toString();
        ParsedName parsed = names.parse(name);
        String marker = FileLayout.unfinishedMarkerName(name);
        boolean unfinished = reader.list(dir.getParent()).has(marker);
        Candidate.Inspector inspector = () -> {
            Inspection i = layout.inspect(dir, listing, members, parsed);
            if (unfinished) {
                i = i.withFramework(Framework.NEMO).inProgress("NeMo '" + marker + "' marker present");
            }
            return i;
        };
        return new Candidate(runDir, name, dir, CheckpointKind.DIRECTORY, layout.framework(), files, List.of(), inspector,
                unfinished);
    }

    private static boolean hasNoDirectory(Listing listing) {
        for (Entry e : listing.entries()) {
            if (e.isDirectory()) {
                return false;
            }
        }
        return true;
    }
}
