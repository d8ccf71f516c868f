package dev.ckptwarden.catalog.integrity;

import dev.ckptwarden.catalog.integrity.PickleReader.PickleException;
import dev.ckptwarden.catalog.integrity.PickleReader.PyObject;
import dev.ckptwarden.catalog.integrity.PickleReader.PyTuple;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The storage files a torch.distributed.checkpoint {@code .metadata} names, and how many bytes of
 * each it needs. {@code .metadata} pickles a {@code Metadata} whose {@code storage_data} maps every
 * chunk to a {@code _StorageInfo(relative_path, offset, length)}; it is read with
 * {@link PickleReader}, which builds plain data and executes nothing.
 */
public final class DcpMetadata {
    private DcpMetadata() {
    }

    /**
     * Storage file name (relative to the checkpoint directory) to the end of the last chunk in it;
     * null when the file is not a readable DCP metadata pickle (then nothing can be said from it).
     */
    public static Map<String, Long> requiredBytes(FileSource source, Path metadata) throws IOException {
        byte[] bytes;
        try (SeekableByteChannel ch = source.open(metadata)) {
            if (ch.size() > FileProbe.MAX_PICKLE_BYTES) {
                return null; // larger than we read headers to; the other checks still run
            }
            bytes = FileSource.readAt(ch, 0, (int) ch.size());
        }
        Object root;
        try {
            root = new PickleReader(bytes).next();
        } catch (PickleException e) {
            return null;
        }
        Map<?, ?> storage = field(root, "storage_data");
        if (storage == null) {
            return null;
        }
        Map<String, Long> out = new TreeMap<>();
        for (Object info : storage.values()) {
            Map<?, ?> f = fields(info);
            if (f == null || !(f.get("relative_path") instanceof String path)) {
                return null; // a layout we do not know: claim nothing
            }
            long end = f.get("offset") instanceof Long o && f.get("length") instanceof Long l ? o + l : 0;
            out.merge(path, end, Math::max);
        }
        return out;
    }

    private static Map<?, ?> field(Object o, String name) {
        Map<?, ?> f = fields(o);
        return f != null && f.get(name) instanceof Map<?, ?> m ? m : null;
    }

    /** A dataclass instance's fields: BUILD's dict, or the dict half of a (dict, slots) state. */
    private static Map<?, ?> fields(Object o) {
        if (!(o instanceof PyObject p)) {
            return null;
        }
        Object state = p.state();
        if (state instanceof Map<?, ?> m) {
            return m;
        }
        if (state instanceof PyTuple t && t.size() == 2) {
            return t.get(1) instanceof Map<?, ?> slots ? slots : t.get(0) instanceof Map<?, ?> d ? d : null;
        }
        return null;
    }
}
