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
import java.util.regex.Pattern;

/**
 * A directory a framework writes a save into before it is finished: the Hugging Face Trainer's
 * {@code tmp-checkpoint-N/} (transformers 4.35 and later, renamed to {@code checkpoint-N/} when done),
 * or any directory beside a NeMo {@code <name>-unfinished} marker. It is one checkpoint, always
 * {@code writing} (so never resolved and never deleted by policy); the files inside belong to it and
 * are not checkpoints of their own. Registering it, rather than hiding it, shows a crashed save's
 * leftover and the space it holds. Orbax's {@code *.orbax-checkpoint-tmp-*} is {@link OrbaxLayout}'s.
 */
public final class StagingLayout implements DirectoryLayout {
    private static final Pattern HF_STAGING = Pattern.compile("tmp-checkpoint-\\d+");

    @Override
    public Framework framework() {
        return Framework.HUGGINGFACE;
    }

    /** Matches Hugging Face staging directories by name, whatever they hold (even a complete-looking save). */
    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        return HF_STAGING.matcher(dir.name()).matches();
    }

    /**
     * True when a NeMo {@code <name>-unfinished} marker sits beside the directory: a save in progress,
     * even before its contents look like any layout (NeMo writes {@code weights/} before {@code context/}).
     */
    public static boolean unfinished(Listing dir, DirectoryReader reader) throws IOException {
        Path parent = dir.dir().getParent();
        return parent != null && reader.list(parent).has(FileLayout.unfinishedMarkerName(dir.name()));
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) {
        if (HF_STAGING.matcher(listing.name()).matches()) {
            return Inspection.of(Framework.HUGGINGFACE, ParsedName.EMPTY, null, List.of())
                    .inProgress("Hugging Face staging directory (the Trainer renames it to "
                            + listing.name().substring("tmp-".length()) + "/ when the save is finished)");
        }
        // The cataloger adds the NeMo marker's own note.
        return Inspection.of(Framework.NEMO, ParsedName.EMPTY, null, List.of()).inProgress("save in progress");
    }
}
