package dev.ckptwarden.catalog.layout;

import dev.ckptwarden.catalog.DirectoryReader;
import dev.ckptwarden.catalog.Entry;
import dev.ckptwarden.catalog.Framework;
import dev.ckptwarden.catalog.Inspection;
import dev.ckptwarden.catalog.Listing;
import dev.ckptwarden.catalog.ParsedName;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A TensorFlow SavedModel directory ({@code saved_model.pb} + {@code variables/}). Weights only. */
public final class SavedModelLayout implements DirectoryLayout {

    @Override
    public Framework framework() {
        return Framework.TENSORFLOW;
    }

    @Override
    public boolean matches(Listing dir, DirectoryReader reader) {
        return dir.hasFile("saved_model.pb") || dir.hasFile("saved_model.pbtxt");
    }

    @Override
    public Inspection inspect(Path dir, Listing listing, List<Entry> files, ParsedName name) {
        List<String> problems = new ArrayList<>();
        boolean index = files.stream().anyMatch(e -> e.name().equals("variables/variables.index"));
        boolean anyVariables = files.stream().anyMatch(e -> e.name().startsWith("variables/"));
        if (anyVariables && !index) {
            problems.add("variables/variables.index missing");
        }
        return Inspection.of(Framework.TENSORFLOW, ParsedName.EMPTY, false, problems);
    }
}
