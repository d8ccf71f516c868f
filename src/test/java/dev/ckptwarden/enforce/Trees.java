package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/** Test trees: multi-file checkpoints, and full listings that show any change to a tree. */
final class Trees {
    private Trees() {
    }

    /**
     * A sharded safetensors set: {@code <stem>.safetensors.index.json} naming {@code shards} shard
     * files, each holding its own tensor. Returns the shard and index paths, index last.
     */
    static List<Path> shardedSafetensors(Path runDir, String stem, int shards, Instant mtime) throws IOException {
        Files.createDirectories(runDir);
        List<Path> out = new ArrayList<>();
        StringBuilder map = new StringBuilder();
        for (int i = 1; i <= shards; i++) {
            String name = String.format("%s-%05d-of-%05d.safetensors", stem, i, shards);
            String tensor = "layer" + i;
            String header = "{\"" + tensor + "\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
            byte[] h = header.getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(h.length).put(h).put(new byte[16]);
            Path shard = runDir.resolve(name);
            Files.write(shard, buf.array());
            touch(shard, mtime);
            out.add(shard);
            map.append(map.length() == 0 ? "" : ",").append('"').append(tensor).append("\":\"").append(name).append('"');
        }
        Path index = runDir.resolve(stem + ".safetensors.index.json");
        Files.writeString(index, "{\"metadata\":{\"total_size\":" + 16 * shards + "},\"weight_map\":{" + map + "}}");
        touch(index, mtime);
        out.add(index);
        return out;
    }

    /** A symbolic link whose own mtime (not its target's) is {@code mtime}, so that it looks settled. */
    static Path link(Path link, Path target, Instant mtime) throws IOException {
        Files.createSymbolicLink(link, target);
        Files.getFileAttributeView(link, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .setTimes(FileTime.from(mtime), null, null);
        return link;
    }

    static Path touch(Path p, Instant mtime) throws IOException {
        Files.setLastModifiedTime(p, FileTime.from(mtime));
        return p;
    }

    /** {@link #listing} without directories (whose mtimes change when entries leave and come back). */
    static Map<String, String> files(Path dir) throws IOException {
        Map<String, String> out = listing(dir);
        out.values().removeIf(v -> v.startsWith("dir "));
        return out;
    }

    /**
     * Every entry below {@code dir} (links not followed), each with its type, size, mtime and, for
     * regular files, a CRC of the content: two equal listings mean an untouched tree.
     */
    static Map<String, String> listing(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                out.put(dir.relativize(d) + "/", "dir " + a.lastModifiedTime().toMillis());
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                String what;
                if (a.isSymbolicLink()) {
                    what = "link -> " + Files.readSymbolicLink(f);
                } else if (a.isRegularFile()) {
                    CRC32 crc = new CRC32();
                    crc.update(Files.readAllBytes(f));
                    what = "file " + a.size() + " " + a.lastModifiedTime().toMillis() + " " + Long.toHexString(crc.getValue());
                } else {
                    what = "other";
                }
                out.put(dir.relativize(f).toString(), what);
                return FileVisitResult.CONTINUE;
            }
        });
        return out;
    }
}
