package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Recognises one framework's directory checkpoints ({@code checkpoint-500/}, {@code global_step500/},
 * an Orbax step directory...). Files inside a directory checkpoint belong to it.
 */
public interface DirectoryLayout {

    Framework framework();

    /** True when the listed directory is a checkpoint of this layout (looks at names only, plus one level down). */
    boolean matches(Listing dir, DirectoryReader reader) throws IOException;

    /**
     * Reads headers and sidecars of a matched directory.
     *
     * @param files every file inside, paths relative to {@code dir} ('/'-separated), sizes and mtimes
     * @param name  what the checkpoint's name says
     */
    Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) throws IOException;
}
