package dev.ckptwarden.catalog;

import dev.ckptwarden.catalog.layout.DirectoryLayout;
import dev.ckptwarden.catalog.layout.FileLayout;
import dev.ckptwarden.catalog.names.NameParser;
import dev.ckptwarden.config.Layout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Answers "what is this path?" for one arbitrary path, outside any scan: the checkpoint it is (with
 * state and integrity verdict), or why it is not one.
 */
public final class PathInspector {
    private final Cataloger cataloger;
    private final Duration settle;

    public PathInspector(Layout layout, NameParser names, Duration settle) {
        this.cataloger = new Cataloger(layout, names);
        this.settle = settle;
    }

    /** Either a checkpoint with the state judged of it, or the reason the path is not one. */
    public record Result(Recognised recognised, String reason) {
        public boolean isCheckpoint() {
            return recognised != null;
        }

        /** The checkpoint's facts, or null when it is not one. */
        public Checkpoint checkpoint() {
            return recognised == null ? null : recognised.checkpoint();
        }
    }

    /**
     * @param rootDir the root the path lies under (for the run id), or null when it is outside every root
     */
    public Result inspect(Path path, String rootName, Path rootDir, Instant now) throws IOException {
        Path p = path.toAbsolutePath().normalize();
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return new Result(null, "does not exist");
        }
        DirectoryReader reader = new TreeReader((p2, m) -> { });
        Path owner = enclosingDirectoryCheckpoint(p.getParent(), rootDir, reader);
        if (owner != null) {
            return new Result(null, "part of the directory checkpoint " + owner + ", not a checkpoint of its own");
        }
        Path parent = p.getParent();
        Candidate candidate = null;
        if (a.isDirectory()) {
            Listing l = reader.list(p);
            DirectoryLayout layout = cataloger.match(l, reader);
            if (layout == null) {
                return new Result(null, "directory without a known checkpoint layout");
            }
            candidate = cataloger.directoryCandidate(parent, p, l, layout, reader);
        } else {
            candidate = splitMetricCandidate(p, rootDir, reader);
            Listing siblings = reader.list(parent);
            for (Candidate c : candidate != null ? List.<Candidate>of() : FileLayout.candidates(parent, "", siblings)) {
                if (c.path().equals(p) || c.members().contains(p.getFileName().toString())) {
                    candidate = c;
                    break;
                }
            }
            if (candidate == null) {
                if (a.isRegularFile() && FileLayout.isCheckpointName(p.getFileName().toString())) {
                    return new Result(null, "auxiliary file, not a checkpoint");
                }
                return new Result(null, "not a checkpoint file name (" + p.getFileName() + ")");
            }
        }
        Inspection ins = candidate.inspector().inspect();
        if (ins.notACheckpoint() != null) {
            return new Result(null, ins.notACheckpoint());
        }
        String run = rootDir != null && parent.startsWith(rootDir) ? runId(rootDir, candidate.runDir())
                : String.valueOf(candidate.runDir().getFileName());
        return new Result(Recognition.checkpoint(rootName == null ? "" : rootName, run, candidate, ins, cataloger.names(),
                now, settle), null);
    }

    /**
     * A file in a Lightning metric sub-directory ({@code epoch=0-val/loss=0.88.ckpt}) is a checkpoint of
     * the directory above, as the walk finds it: the catalog's own examination of that directory decides.
     */
    private Candidate splitMetricCandidate(Path p, Path rootDir, DirectoryReader reader) throws IOException {
        Path parent = p.getParent();
        Path grand = parent.getParent();
        if (grand == null || rootDir != null && (parent.equals(rootDir) || !grand.startsWith(rootDir))) {
            return null;
        }
        for (Candidate c : cataloger.examine(reader.list(grand), reader).candidates()) {
            if (c.path().equals(p)) {
                return c;
            }
        }
        return null;
    }

    private Path enclosingDirectoryCheckpoint(Path dir, Path rootDir, DirectoryReader reader) throws IOException {
        for (Path d = dir; d != null && (rootDir == null || d.startsWith(rootDir)) && !d.equals(rootDir); d = d.getParent()) {
            if (d.getParent() == null) {
                break;
            }
            if (cataloger.match(reader.list(d), reader) != null) {
                return d;
            }
        }
        return null;
    }

    private static String runId(Path rootDir, Path runDir) {
        String s = rootDir.relativize(runDir).toString();
        return s.isEmpty() ? "." : s;
    }
}
