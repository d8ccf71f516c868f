package dev.ckptwarden.catalog;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A checkpoint recognised from names and stats alone, before its contents are inspected.
 *
 * @param name     checkpoint name relative to its run directory
 * @param files    every file that belongs to it, with paths relative to the run directory
 * @param members  for multi-file FILE checkpoints, the member names; empty otherwise
 * @param inspector reads headers and sidecars; called only when the signature changed
 * @param markedUnfinished a NeMo {@code <name>-unfinished} marker is beside it (part of the signature)
 */
public record Candidate(
        Path runDir,
        String name,
        Path path,
        CheckpointKind kind,
        Framework framework,
        List<Entry> files,
        List<String> members,
        Inspector inspector,
        boolean markedUnfinished) {

    public Candidate {
        files = List.copyOf(files);
        members = List.copyOf(members);
    }

    /** A candidate without a NeMo {@code -unfinished} marker beside it. */
    public Candidate(Path runDir, String name, Path path, CheckpointKind kind, Framework framework, List<Entry> files,
                     List<String> members, Inspector inspector) {
        this(runDir, name, path, kind, framework, files, members, inspector, false);
    }

    /** Reads a candidate's headers and sidecars. */
    @FunctionalInterface
    public interface Inspector {
        Inspection inspect() throws IOException;
    }

    public long bytes() {
        long sum = 0;
        for (Entry e : files) {
            if (e.isFile()) {
                sum += e.size();
            }
        }
        return sum;
    }

    public long modifiedMillis() {
        long max = Long.MIN_VALUE;
        for (Entry e : files) {
            max = Math.max(max, e.mtimeMillis());
        }
        return max == Long.MIN_VALUE ? 0 : max;
    }

    /**
     * A cheap change detector: sizes, modification times and names of every file. Two scans that see
     * the same signature saw the same bytes unless something rewrote a file keeping size and mtime.
     */
    public String signature() {
        return files.size() + ":" + Long.toHexString(signatureHash());
    }

    /** The hash part of {@link #signature()}, without building the text (a pass hashes every candidate). */
    public long signatureHash() {
        long h = 0xcbf29ce484222325L;
        for (Entry e : files) {
            h = mix(h, e.name().hashCode());
            h = mix(h, e.size());
            h = mix(h, e.mtimeMillis());
            h = mix(h, e.type().ordinal());
        }
        // The marker sits beside the checkpoint, not in it, yet changes its verdict: NeMo's rotation puts it back
        // beside a complete save before removing it, which must not keep the registered "complete".
        return markedUnfinished ? mix(h, 0x2d756e66L) : h;
    }

    /**
     * Folds this candidate (its name and signature) into a run directory's fingerprint: equal fingerprints
     * of a run directory mean the same checkpoints with the same signatures, in the same order.
     */
    public long foldInto(long runFingerprint) {
        long h = mix(runFingerprint, name.hashCode());
        h = mix(h, files.size());
        return mix(h, signatureHash());
    }

    private static long mix(long h, long v) {
        h ^= v;
        h *= 0x100000001b3L;
        return h ^ (h >>> 29);
    }
}
