package dev.ckptwarden.sim;

import dev.ckptwarden.cli.SampleFiles;
import dev.ckptwarden.registry.Registered;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How each framework really writes a checkpoint, as the file-system steps an observer sees, so the
 * simulation can stop a writer after any prefix of them. Each method returns the steps of one save, in
 * order; the save is complete only once its last step has been applied after all the others.
 */
public final class SaveProtocols {
    private final Path scratch;
    private final Map<String, byte[]> made = new HashMap<>();

    public SaveProtocols(Path scratch) {
        this.scratch = scratch;
    }

    /** One file-system action of a writer. */
    public sealed interface Op {
        /** Writes bytes [from, to) of {@code content}: a new file when from is 0, else appended. */
        record Write(Path file, byte[] content, int from, int to) implements Op {
            @Override
            public String toString() {
                return "write " + file.getFileName() + " [" + from + "," + to + ") of " + content.length;
            }
        }

        record Mkdir(Path dir) implements Op {
            @Override
            public String toString() {
                return "mkdir " + dir.getFileName();
            }
        }

        record Rename(Path from, Path to) implements Op {
            @Override
            public String toString() {
                return "rename " + from.getFileName() + " -> " + to.getFileName();
            }
        }

        /** The writer's own rotation ({@code save_top_k}, {@code save_total_limit}) or a user's {@code rm -rf}. */
        record Remove(Path path) implements Op {
            @Override
            public String toString() {
                return "rm -rf " + path.getFileName();
            }
        }
    }

    /** One save: where its checkpoint ends up and the steps that put it there. */
    public record Save(Path path, long step, List<Op> ops) {
    }

    /**
     * Lightning's in-place write: {@code torch.save} streaming into the final name (Lightning before
     * 1.5, and {@code lightning.fabric.utilities.cloud_io._atomic_save} whose fsspec transaction moves
     * its temp file from /tmp across file systems, which copies into the final name), seen as a prefix
     * then the rest.
     */
    Save lightningInPlace(Path runDir, int epoch, long step, String suffix) {
        Path file = runDir.resolve("epoch=" + epoch + "-step=" + step + suffix + ".ckpt");
        byte[] bytes = torch(epoch, step);
        int half = bytes.length / 2;
        return new Save(file, step, List.of(new Op.Write(file, bytes, 0, half), new Op.Write(file, bytes, half, bytes.length)));
    }

    /**
     * The temp-then-rename save ({@code _atomic_save} on one file system, and the common
     * {@code torch.save(obj, f + ".temp"); os.replace(...)} idiom): the final name appears whole.
     */
    public Save lightningAtomic(Path runDir, int epoch, long step, String suffix) {
        Path file = runDir.resolve("epoch=" + epoch + "-step=" + step + suffix + ".ckpt");
        Path temp = runDir.resolve(file.getFileName() + ".temp");
        byte[] bytes = torch(epoch, step);
        int half = bytes.length / 2;
        return new Save(file, step, List.of(new Op.Write(temp, bytes, 0, half), new Op.Write(temp, bytes, half, bytes.length),
                new Op.Rename(temp, file)));
    }

    /**
     * Hugging Face Trainer {@code _save_checkpoint} in transformers 4.35-4.37: everything is written into
     * {@code tmp-checkpoint-N/} (model, optimizer, then {@code trainer_state.json}), which is then renamed
     * to {@code checkpoint-N/}.
     */
    Save hfStaged(Path runDir, long step) {
        Path staging = runDir.resolve("tmp-checkpoint-" + step);
        Path dir = runDir.resolve("checkpoint-" + step);
        List<Op> ops = new ArrayList<>(hfFiles(staging, step));
        ops.add(new Op.Rename(staging, dir));
        return new Save(dir, step, ops);
    }

    /**
     * Hugging Face Trainer {@code _save_checkpoint} before 4.35 and after 4.37: {@code checkpoint-N/}
     * filled in place, {@code trainer_state.json} last (the only sign that the save finished).
     */
    Save hfInPlace(Path runDir, long step) {
        Path dir = runDir.resolve("checkpoint-" + step);
        return new Save(dir, step, hfFiles(dir, step));
    }

    private List<Op> hfFiles(Path dir, long step) {
        byte[] model = file("st", p -> SampleFiles.safetensors(p));
        byte[] optimizer = file("opt", p -> SampleFiles.torchZip(p, null, null, false, true));
        byte[] state = ("{\"global_step\": " + step + ", \"epoch\": 1.0, \"log_history\": [{\"eval_loss\": 0.5, \"step\": "
                + step + "}]}").getBytes(StandardCharsets.UTF_8);
        return List.of(new Op.Mkdir(dir),
                new Op.Write(dir.resolve("model.safetensors"), model, 0, model.length),
                new Op.Write(dir.resolve("optimizer.pt"), optimizer, 0, optimizer.length / 2),
                new Op.Write(dir.resolve("optimizer.pt"), optimizer, optimizer.length / 2, optimizer.length),
                new Op.Write(dir.resolve("trainer_state.json"), state, 0, state.length));
    }

    /** A DeepSpeed save and where, among its steps, rank 0 writes the {@code latest} tag file. */
    record DeepSpeedSave(Save save, Op latest, int latestAfter) {
    }

    /**
     * DeepSpeed {@code DeepSpeedEngine.save_checkpoint} with ZeRO-2 on {@code dp} data-parallel ranks:
     * the tag directory {@code global_stepN/}, rank 0's {@code mp_rank_00_model_states.pt} (its header
     * records {@code dp_world_size}), then each rank's {@code zero_pp_rank_R_mp_rank_00_optim_states.pt},
     * then rank 0 writes the {@code latest} tag file. With {@code latestEarly}, rank 0 writes {@code latest}
     * as soon as its own files are done, before the other ranks have finished (no barrier before it, as in
     * older releases). {@code latest} is an alias, not part of the save.
     */
    DeepSpeedSave deepSpeed(Path runDir, long step, int dp, boolean latestEarly) {
        Path tag = runDir.resolve("global_step" + step);
        Path made = scratch.resolve("ds-" + step + "-" + dp);
        List<Op> ops = new ArrayList<>();
        ops.add(new Op.Mkdir(tag));
        int latestAfter = -1;
        try {
            if (!Files.isDirectory(made)) {
                dev.ckptwarden.testing.TreeBuilder.deepSpeedTag(made, step, dp, 1, false, java.time.Instant.EPOCH);
            }
            List<String> names = new ArrayList<>(List.of("mp_rank_00_model_states.pt"));
            for (int r = 0; r < dp; r++) {
                names.add("zero_pp_rank_" + r + "_mp_rank_00_optim_states.pt");
            }
            for (String n : names) {
                byte[] b = Files.readAllBytes(made.resolve(n));
                ops.add(new Op.Write(tag.resolve(n), b, 0, b.length / 2));
                ops.add(new Op.Write(tag.resolve(n), b, b.length / 2, b.length));
                if (n.startsWith("zero_pp_rank_0_")) {
                    latestAfter = ops.size();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] latest = ("global_step" + step).getBytes(StandardCharsets.UTF_8);
        return new DeepSpeedSave(new Save(tag, step, ops), new Op.Write(runDir.resolve("latest"), latest, 0, latest.length),
                latestEarly ? latestAfter : ops.size());
    }

    /**
     * torch.distributed.checkpoint {@code FileSystemWriter}: every rank writes its {@code __<rank>_0.distcp}, then the
     * coordinator's {@code finish} ({@code torch/distributed/checkpoint/filesystem.py}, {@code _FileSystemWriter.finish})
     * pickles the {@code Metadata} into {@code .metadata.tmp} and renames it to {@code .metadata}: the save is
     * complete only with that rename. The bytes are a real two-rank save from the corpus, whose {@code .metadata}
     * names both shards and their lengths. Null when the corpus is absent.
     */
    Save dcp(Path runDir, long step) {
        byte[][] files = dcpFiles();
        if (files == null) {
            return null;
        }
        Path dir = runDir.resolve("step-" + step);
        List<Op> ops = new ArrayList<>();
        ops.add(new Op.Mkdir(dir));
        ops.addAll(halves(dir.resolve("__0_0.distcp"), files[0]));
        ops.addAll(halves(dir.resolve("__1_0.distcp"), files[1]));
        ops.addAll(halves(dir.resolve(".metadata.tmp"), files[2]));
        ops.add(new Op.Rename(dir.resolve(".metadata.tmp"), dir.resolve(".metadata")));
        return new Save(dir, step, ops);
    }

    /**
     * Orbax with atomic rename ({@code orbax/checkpoint/_src/path/atomicity.py}: {@code AtomicRenameTemporaryPath.create}
     * makes {@code <step>.orbax-checkpoint-tmp-<n>/} and writes {@code _CHECKPOINT_METADATA} with
     * {@code init_timestamp_nsecs}; the handlers write {@code _METADATA}, {@code _sharding}, {@code manifest.ocdbt};
     * {@code finalize} updates {@code _CHECKPOINT_METADATA} with {@code commit_timestamp_nsecs} and renames the
     * directory to {@code <step>/}).
     */
    Save orbaxRename(Path runDir, long step) {
        Path tmp = runDir.resolve(step + ".orbax-checkpoint-tmp-" + (1_700_000_000L + step));
        Path dir = runDir.resolve(Long.toString(step));
        List<Op> ops = new ArrayList<>(orbaxFiles(tmp, step));
        ops.add(write(tmp.resolve("_CHECKPOINT_METADATA"), orbaxMetadata(step, true)));
        ops.add(new Op.Rename(tmp, dir));
        return new Save(dir, step, ops);
    }

    /**
     * Orbax with a commit file, on file systems without atomic rename ({@code CommitFileTemporaryPath}: the same
     * files written straight into {@code <step>/}; {@code finalize} updates {@code _CHECKPOINT_METADATA} with the
     * commit timestamp, then writes {@code commit_success.txt}). The save counts as complete once the commit
     * timestamp is in: every byte of data is written by then, and that is the signal a reader of a local copy has.
     * {@code commit_success.txt} follows as an extra step that is not part of the save (see {@link OrbaxCommit}).
     */
    OrbaxCommit orbaxCommitFile(Path runDir, long step) {
        Path dir = runDir.resolve(Long.toString(step));
        List<Op> ops = new ArrayList<>(orbaxFiles(dir, step));
        ops.add(write(dir.resolve("_CHECKPOINT_METADATA"), orbaxMetadata(step, true)));
        byte[] ok = ("Checkpoint commit was successful to " + dir).getBytes(StandardCharsets.UTF_8);
        return new OrbaxCommit(new Save(dir, step, ops), write(dir.resolve("commit_success.txt"), ok));
    }

    /** An Orbax commit-file save and its {@code commit_success.txt} write. */
    record OrbaxCommit(Save save, Op commitFile) {
    }

    private List<Op> orbaxFiles(Path dir, long step) {
        byte[] sharding = "{\"params.w\": {\"sharding_type\": \"SingleDeviceSharding\"}}".getBytes(StandardCharsets.UTF_8);
        byte[] meta = ("{\"tree_metadata\": {\"('params', 'w')\": {\"key_metadata\": [], \"value_metadata\": "
                + "{\"value_type\": \"jax.Array\"}}}, \"step\": " + step + "}").getBytes(StandardCharsets.UTF_8);
        byte[] manifest = new byte[113];
        java.util.Arrays.fill(manifest, (byte) step);
        return List.of(new Op.Mkdir(dir),
                write(dir.resolve("_CHECKPOINT_METADATA"), orbaxMetadata(step, false)),
                write(dir.resolve("_sharding"), sharding),
                write(dir.resolve("manifest.ocdbt"), manifest),
                write(dir.resolve("_METADATA"), meta));
    }

    private static byte[] orbaxMetadata(long step, boolean committed) {
        long init = 1_700_000_000_000_000_000L + step;
        return ("{\"item_handlers\": \"orbax.checkpoint._src.handlers.pytree_checkpoint_handler.PyTreeCheckpointHandler\", "
                + "\"metrics\": {\"loss\": 0.5}, \"init_timestamp_nsecs\": " + init + ", \"commit_timestamp_nsecs\": "
                + (committed ? Long.toString(init + 1000) : "null") + ", \"custom_metadata\": {}}").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * NeMo 2 {@code ModelCheckpoint._save_checkpoint} ({@code nemo/lightning/pytorch/callbacks/model_checkpoint.py}):
     * {@code set_checkpoint_unfinished_marker} touches {@code <name>-unfinished} beside the checkpoint, the trainer
     * writes the directory ({@code weights/} as a DCP save, {@code context/}), then
     * {@code remove_checkpoint_unfinished_marker} removes the marker: only then is the save complete. Null when
     * the corpus is absent.
     */
    Save nemo(Path runDir, long step) {
        byte[][] files = dcpFiles();
        if (files == null) {
            return null;
        }
        String name = String.format(java.util.Locale.ROOT, "megatron_gpt--val_loss=%.2f-step=%d-consumed_samples=%d.0",
                2.0 - step / 1000.0, step, step * 8);
        Path dir = runDir.resolve(name);
        Path marker = nemoMarker(dir);
        Path weights = dir.resolve("weights");
        byte[] io = ("{\"root\": {\"type\": \"ref\", \"key\": \"trainer_context_1\"}, \"step\": " + step + "}")
                .getBytes(StandardCharsets.UTF_8);
        List<Op> ops = new ArrayList<>();
        ops.add(write(marker, new byte[0]));
        ops.add(new Op.Mkdir(dir));
        ops.add(new Op.Mkdir(weights));
        ops.addAll(halves(weights.resolve("__0_0.distcp"), files[0]));
        ops.add(write(weights.resolve("__1_0.distcp"), files[1]));
        ops.add(write(weights.resolve(".metadata"), files[2]));
        ops.add(new Op.Mkdir(dir.resolve("context")));
        ops.add(write(dir.resolve("context").resolve("io.json"), io));
        ops.add(new Op.Remove(marker));
        return new Save(dir, step, ops);
    }

    /**
     * NeMo's own rotation of an older save ({@code save_top_k}): {@code ModelCheckpoint._remove_checkpoint}
     * ({@code nemo/lightning/pytorch/callbacks/model_checkpoint.py}) first touches {@code <name>-unfinished}
     * ({@code set_checkpoint_unfinished_marker}), then removes the directory ({@code shutil.rmtree}, file by file: a
     * job killed in between leaves part of it), then removes the marker. From the marker on, the save is on its way
     * out: nothing may answer it.
     */
    static List<Op> nemoRemove(Path save) {
        Path marker = nemoMarker(save);
        return List.of(write(marker, new byte[0]), new Op.Remove(save.resolve("weights").resolve("__0_0.distcp")),
                new Op.Remove(save), new Op.Remove(marker));
    }

    /**
     * NeMo's cleanup when a job starts again ({@code ModelCheckpoint.setup} calls {@code _remove_unfinished_checkpoints}
     * on rank 0): every checkpoint directory with an {@code -unfinished} marker beside it is removed, then the markers.
     */
    static List<Op> nemoRestartCleanup(Path unfinished) {
        return List.of(new Op.Remove(unfinished), new Op.Remove(nemoMarker(unfinished)));
    }

    /** {@code format_checkpoint_unfinished_marker_path}: the marker beside a NeMo checkpoint. */
    static Path nemoMarker(Path save) {
        return save.resolveSibling(save.getFileName() + "-unfinished");
    }

    /**
     * Plain {@code torch.save(state, "checkpoint_step_N.pt")} in place ({@code torch/serialization.py}: {@code save}
     * streams the zip through {@code _open_zipfile_writer} straight into the final name, central directory last).
     */
    Save torchSave(Path runDir, long step) {
        Path file = runDir.resolve("checkpoint_step_" + step + ".pt");
        byte[] bytes = file("plain-" + step, p -> SampleFiles.torchZip(p, null, step, false, true));
        int third = bytes.length / 3;
        return new Save(file, step, List.of(new Op.Write(file, bytes, 0, third), new Op.Write(file, bytes, third, 2 * third),
                new Op.Write(file, bytes, 2 * third, bytes.length)));
    }

    /** False for a kind of job whose bytes come from the corpus when the corpus is absent. */
    boolean available(int kind) {
        return (kind != 5 && kind != 8) || dcpFiles() != null;
    }

    private byte[][] dcpCache;

    /** The corpus's real two-rank DCP save: {@code __0_0.distcp}, {@code __1_0.distcp}, {@code .metadata}. */
    private byte[][] dcpFiles() {
        if (dcpCache == null) {
            try {
                Path dir;
                try (var s = Files.list(dev.ckptwarden.testing.Corpus.root().resolve("dcp/Lightning-AI__pytorch-lightning"))) {
                    dir = s.findFirst().orElse(null);
                }
                if (dir == null) {
                    return null;
                }
                dcpCache = new byte[][]{Files.readAllBytes(dir.resolve("__0_0.distcp")),
                        Files.readAllBytes(dir.resolve("__1_0.distcp")), Files.readAllBytes(dir.resolve(".metadata"))};
            } catch (IOException | org.opentest4j.TestAbortedException absent) {
                return null;
            }
        }
        return dcpCache;
    }

    private static Op write(Path file, byte[] content) {
        return new Op.Write(file, content, 0, content.length);
    }

    private static List<Op> halves(Path file, byte[] content) {
        int half = content.length / 2;
        return List.of(new Op.Write(file, content, 0, half), new Op.Write(file, content, half, content.length));
    }

    /**
     * Keeps {@code created} (every path a writer made and has not moved or removed itself, and the save it belongs
     * to, -1 for none) in step with an applied writer step.
     */
    public static void track(Map<Path, Integer> created, Path root, Op op, int save) {
        if (op instanceof Op.Write wr) {
            created.put(root.resolve(wr.file()), save);
        } else if (op instanceof Op.Mkdir m) {
            created.put(root.resolve(m.dir()), save);
        } else if (op instanceof Op.Rename r) {
            Path from = root.resolve(r.from());
            Path to = root.resolve(r.to());
            Map<Path, Integer> moved = new HashMap<>();
            created.entrySet().removeIf(e -> {
                if (e.getKey().startsWith(from)) {
                    moved.put(to.resolve(from.relativize(e.getKey())), e.getValue());
                    return true;
                }
                return false;
            });
            created.putAll(moved);
        } else if (op instanceof Op.Remove rm) {
            created.keySet().removeIf(p -> p.startsWith(root.resolve(rm.path())));
        }
    }

    /**
     * Applies one writer step under {@code root}, stamping what it touched with {@code now}; false when it cannot
     * happen any more (its file or directory is gone: an earlier step was shrunk away, or the save was removed).
     */
    public static boolean apply(Path root, Op op, FileTime now) throws IOException {
        if (op instanceof Op.Write wr) {
            Path f = root.resolve(wr.file());
            if (!Files.isDirectory(f.getParent())) {
                if (wr.from() > 0 || !f.getParent().getParent().equals(root)) {
                    return false; // its directory is gone (removed, or never made)
                }
                Files.createDirectories(f.getParent());
            }
            if (wr.from() > 0 && (!Files.exists(f) || Files.size(f) != wr.from())) {
                return false;
            }
            try (OutputStream out = wr.from() == 0
                    ? Files.newOutputStream(f, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)
                    : Files.newOutputStream(f, StandardOpenOption.APPEND)) {
                out.write(wr.content(), wr.from(), wr.to() - wr.from());
            }
            Files.setLastModifiedTime(f, now);
            Files.setLastModifiedTime(f.getParent(), now);
        } else if (op instanceof Op.Mkdir m) {
            Path d = root.resolve(m.dir());
            if (!Files.isDirectory(d.getParent())) {
                if (!d.getParent().getParent().equals(root)) {
                    return false; // the directory it goes in is gone (removed, or never made)
                }
                Files.createDirectories(d.getParent()); // a run directory: frameworks create it
            }
            Files.createDirectory(d);
            Files.setLastModifiedTime(d, now);
        } else if (op instanceof Op.Rename r) {
            Path from = root.resolve(r.from());
            if (!Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            Files.move(from, root.resolve(r.to()), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Files.setLastModifiedTime(root.resolve(r.to()).getParent(), now);
        } else if (op instanceof Op.Remove rm) {
            Path p = root.resolve(rm.path());
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            deleteTree(p);
            if (Files.exists(p.getParent())) {
                Files.setLastModifiedTime(p.getParent(), now);
            }
        }
        return true;
    }

    /** {@code rm -rf}, without following links. */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(p);
            return;
        }
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private byte[] torch(int epoch, long step) {
        return file("torch-" + epoch + "-" + step, p -> SampleFiles.torchZip(p, epoch, step, true, true));
    }

    private interface Maker {
        void make(Path p) throws IOException;
    }

    private byte[] file(String key, Maker maker) {
        return made.computeIfAbsent(key, k -> {
            try {
                Path p = scratch.resolve(k);
                maker.make(p);
                return Files.readAllBytes(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
