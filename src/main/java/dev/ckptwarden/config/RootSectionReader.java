package dev.ckptwarden.config;

import java.nio.file.FileSystems;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.PatternSyntaxException;

/** Reads {@code roots:}, each entry and the checks that span entries (unique names, no nesting). */
final class RootSectionReader {

    private static final String[] ROOT_KEYS = {
        "name", "path", "layout", "patterns", "retention", "quota", "disk", "action", "offload", "overrides"
    };
    private static final String NO_ROOTS = "no roots configured: add at least one entry with a path: under roots:";

    /** What the cross-entry checks need about an entry, including where it was written. */
    private record ReadRoot(int index, String name, boolean explicitName, YamlNode nameNode, String path,
                            YamlNode pathNode, RootLocation location, RootLocation real, RootConfig config) {
        String key() {
            return "roots[" + index + "]";
        }

        /** At the top of a file system, as written or through links: reported on its own, compared with nothing. */
        boolean top() {
            return location.isTop() || real.isTop();
        }
    }

    private RootSectionReader() {
    }

    /** The roots, or an empty list when {@code errors} received something. */
    /** @param stateDir the agent's state directory, which no root may contain or lie in */
    static List<RootConfig> read(MappingReader top, ConfigErrors errors, java.nio.file.Path stateDir) {
        if (!top.has("roots")) {
            errors.at(top.node(), "roots", NO_ROOTS);
            return List.of();
        }
        YamlNode node = top.get("roots");
        if (MappingReader.isAlias(node)) {
            return List.of();
        }
        if ((node instanceof YamlNode.Scalar s && s.isNull())
                || (node instanceof YamlNode.Sequence seq && seq.items().isEmpty())) {
            errors.at(node, "roots", NO_ROOTS);
            return List.of();
        }
        if (!(node instanceof YamlNode.Sequence seq)) {
            errors.at(node, "roots", "expected a list of roots (each entry starting with '- path: ...'), got "
                    + node.describe());
            return List.of();
        }
        List<ReadRoot> read = new ArrayList<>();
        for (int i = 0; i < seq.items().size(); i++) {
            ReadRoot r = root(seq.items().get(i), i, errors);
            if (r != null) {
                read.add(r);
            }
        }
        checkNames(read, errors);
        checkPlacement(read, stateDir, errors);
        checkNesting(read, errors);
        List<RootConfig> roots = new ArrayList<>();
        for (ReadRoot r : read) {
            if (r.config() != null) {
                roots.add(r.config());
            }
        }
        return roots;
    }

    private static ReadRoot root(YamlNode node, int index, ConfigErrors errors) {
        String key = "roots[" + index + "]";
        MappingReader r = MappingReader.of(node, key, errors, "a mapping with at least a path: key", ROOT_KEYS);
        if (r == null) {
            return null;
        }
        int before = errors.count();

        String path = r.text("path", "a local path or a file://, sftp:// or s3:// URI");
        RootLocation location = null;
        if (!r.has("path")) {
            r.missing("path", " (the directory or URI to watch)");
        } else if (path != null) {
            try {
                location = RootLocation.parse(path);
            } catch (IllegalArgumentException e) {
                r.error("path", e.getMessage());
            }
        }
        String name = r.text("name", "a name");
        if (name != null && name.isBlank()) {
            r.error("name", "must not be empty (leave the key out to name the root by its path)");
        }
        Layout layout = r.choice("layout", Layout.values());
        List<String> patterns = patterns(r, errors);

        Retention retention = r.has("retention")
                ? RetentionSectionReader.read(r.get("retention"), r.keyPath("retention"), errors,
                        "remove retention: for a watch-only root, or set at least one of keep_last, keep_best, "
                                + "keep_every, keep_within")
                : null;
        Quota quota = quota(r, errors);
        DiskWatermark disk = disk(r, errors);
        Offload offload = OffloadSectionReader.read(r, errors);
        List<RetentionOverride> overrides = overrides(r, errors);
        Action action = action(r);

        RootConfig config = null;
        if (errors.count() == before) {
            String rootName = name != null ? name.strip() : path;
            config = new RootConfig(rootName, path, layout == null ? Layout.AUTO : layout, patterns, retention, quota,
                    disk, action, offload, overrides);
        }
        return new ReadRoot(index, name != null ? name.strip() : path, name != null, r.get("name"), path,
                r.get("path"), location, location == null ? null : location.real(), config);
    }

    private static List<String> patterns(MappingReader r, ConfigErrors errors) {
        List<String> patterns = r.texts("patterns", "name templates like \"weights.{epoch:02d}-{val_loss:.2f}.hdf5\"");
        if (patterns == null) {
            return List.of();
        }
        if (r.get("patterns") instanceof YamlNode.Sequence seq) {
            for (int i = 0; i < patterns.size(); i++) {
                try {
                    NameTemplateSyntax.validate(patterns.get(i));
                } catch (IllegalArgumentException e) {
                    errors.at(seq.items().get(i), r.keyPath("patterns") + "[" + i + "]", e.getMessage());
                }
            }
        }
        return patterns;
    }

    private static Quota quota(MappingReader r, ConfigErrors errors) {
        if (!r.has("quota")) {
            return Quota.NONE;
        }
        MappingReader q = r.block("quota", "set max_bytes or run_max_bytes, or remove quota:",
                "a mapping like {max_bytes: 500GiB, run_max_bytes: 100GiB}", "max_bytes", "run_max_bytes");
        return q == null ? null : new Quota(q.size("max_bytes"), q.size("run_max_bytes"));
    }

    private static DiskWatermark disk(MappingReader r, ConfigErrors errors) {
        if (!r.has("disk")) {
            return DiskWatermark.NONE;
        }
        MappingReader d = r.block("disk", "set min_free or min_free_ratio, or remove disk:",
                "a mapping like {min_free: 50GiB} or {min_free_ratio: 0.10}", "min_free", "min_free_ratio");
        return d == null ? null : new DiskWatermark(d.size("min_free"), d.ratio("min_free_ratio"));
    }

    private static List<RetentionOverride> overrides(MappingReader r, ConfigErrors errors) {
        YamlNode node = r.get("overrides");
        if (node == null || MappingReader.isAlias(node) || (node instanceof YamlNode.Scalar s && s.isNull())) {
            return List.of();
        }
        if (!(node instanceof YamlNode.Sequence seq)) {
            errors.at(node, r.keyPath("overrides"), "expected a list of {match: GLOB, retention: {...}}, got "
                    + node.describe());
            return List.of();
        }
        if (!seq.items().isEmpty() && !r.has("retention")) {
            errors.at(r.entry("overrides"), r.keyPath("overrides"), "this root has no retention: and is watch-only, "
                    + "so overrides would change nothing; add retention: to the root");
        }
        List<RetentionOverride> out = new ArrayList<>();
        for (int i = 0; i < seq.items().size(); i++) {
            String key = r.keyPath("overrides") + "[" + i + "]";
            MappingReader o = MappingReader.of(seq.items().get(i), key, errors,
                    "a mapping like {match: \"llada8b/**\", retention: {keep_last: 5}}", "match", "retention");
            if (o == null) {
                continue;
            }
            String match = o.text("match", "a glob on the run id like \"llada8b/**\"");
            if (!o.has("match")) {
                o.missing("match", " (a glob on the run id like \"llada8b/**\")");
            } else if (match != null) {
                match = glob(o, match);
            }
            Retention retention = null;
            if (!o.has("retention")) {
                o.missing("retention", " (the retention fields this override changes)");
            } else {
                retention = RetentionSectionReader.read(o.get("retention"), o.keyPath("retention"), errors,
                        "an override must change at least one of keep_last, keep_best, keep_every, keep_within");
            }
            if (match != null && retention != null) {
                out.add(new RetentionOverride(match, retention));
            }
        }
        return out;
    }

    private static String glob(MappingReader o, String match) {
        if (match.isBlank()) {
            o.error("match", "must not be empty (use \"**\" to match every run)");
            return null;
        }
        try {
            FileSystems.getDefault().getPathMatcher("glob:" + match);
            return match;
        } catch (IllegalArgumentException e) {
            // PatternSyntaxException is an IllegalArgumentException; its getMessage() spans lines
            String reason = e instanceof PatternSyntaxException p ? p.getDescription() : e.getMessage();
            o.error("match", "not a valid glob: '" + match + "' (" + reason + ")");
            return null;
        }
    }

    /**
     * The root's action. Unset, it is {@code report} for a watch-only root, {@code offload} when an
     * {@code offload:} block is given (a user who configured an archive target and forgot the action
     * must not get deletions), and {@code delete} otherwise.
     */
    private static Action action(MappingReader r) {
        Action action = r.choice("action", Action.values());
        boolean watchOnly = !r.has("retention");
        if (action == null) {
            if (r.has("action")) {
                return null;
            }
            return watchOnly ? Action.REPORT : r.has("offload") ? Action.OFFLOAD : Action.DELETE;
        }
        if (watchOnly && action != Action.REPORT) {
            r.error("action", "action: " + action.id() + " needs a retention: block; a root without retention is "
                    + "watch-only and never removes anything (add retention: or use action: report)");
        }
        if (action == Action.OFFLOAD && !r.has("offload")) {
            r.error("action", "action: offload needs an offload: block with a target, like "
                    + "offload: {target: \"sftp://archive/ckpt\"}");
        }
        return action;
    }

    private static void checkNames(List<ReadRoot> roots, ConfigErrors errors) {
        for (int j = 0; j < roots.size(); j++) {
            ReadRoot later = roots.get(j);
            for (int i = 0; i < j; i++) {
                ReadRoot earlier = roots.get(i);
                // two unnamed roots share a name only when they share a path, which the nesting check reports
                if (later.name() != null && later.name().equals(earlier.name())
                        && (later.explicitName() || earlier.explicitName())) {
                    YamlNode at = later.explicitName() ? later.nameNode() : later.pathNode();
                    YamlNode first = earlier.explicitName() ? earlier.nameNode() : earlier.pathNode();
                    errors.at(at, later.key() + (later.explicitName() ? ".name" : ".path"), "root name '"
                            + later.name() + "' is already used by " + earlier.key() + " (line " + first.line()
                            + "); give each root a distinct name:");
                    break;
                }
            }
        }
    }

    /**
     * A root at the top of a file system, or one that contains the state directory or lies inside it, is
     * refused: a dry run against {@code /} planned deletions across the whole machine (issue 14). Links are
     * resolved for the comparison (a root given through a link to {@code /} is still {@code /}).
     */
    private static void checkPlacement(List<ReadRoot> roots, java.nio.file.Path stateDir, ConfigErrors errors) {
        RootLocation state = RootLocation.local(stateDir);
        RootLocation realState = state.real();
        for (ReadRoot r : roots) {
            if (r.location() == null) {
                continue;
            }
            RootLocation real = r.real();
            if (r.top()) {
                errors.at(r.pathNode(), r.key() + ".path", "'" + r.path() + "' is the top of the file system"
                        + (r.location().isTop() ? "" : " (through symbolic links: '" + real.text() + "')")
                        + "; a root is the directory that holds checkpoints, like /data/checkpoints");
                continue;
            }
            boolean lexical = r.location().contains(state) || state.contains(r.location());
            if (!lexical && !real.contains(realState) && !realState.contains(real)) {
                continue;
            }
            boolean around = lexical ? r.location().contains(state) : real.contains(realState);
            errors.at(r.pathNode(), r.key() + ".path", "'" + r.path() + "' " + (around ? "contains" : "lies inside")
                    + " agent.state_dir '" + stateDir + "'" + (lexical ? "" : " (through symbolic links: '" + real.text()
                    + "' and '" + realState.text() + "')") + "; the registry and audit log must not lie where "
                    + "retention deletes");
        }
    }

    private static void checkNesting(List<ReadRoot> roots, ConfigErrors errors) {
        for (int j = 0; j < roots.size(); j++) {
            ReadRoot later = roots.get(j);
            if (later.location() == null || later.top()) {
                continue; // reported on its own
            }
            for (int i = 0; i < j; i++) {
                ReadRoot earlier = roots.get(i);
                if (earlier.location() == null || earlier.top()) {
                    continue;
                }
                boolean inside = earlier.location().contains(later.location());
                boolean around = later.location().contains(earlier.location());
                String through = "";
                if (!inside && !around) {
                    // Two spellings of overlapping directories (a symbolic link): both roots would enforce the same files.
                    RootLocation a = earlier.real();
                    RootLocation b = later.real();
                    inside = a.contains(b);
                    around = b.contains(a);
                    if (!inside && !around) {
                        continue;
                    }
                    through = "; through symbolic links: '" + (around ? b : a).text() + "'";
                }
                String relation = inside && around ? "is the same directory as" : inside ? "lies inside" : "contains";
                errors.at(later.pathNode(), later.key() + ".path", "'" + later.path() + "' " + relation + " "
                        + earlier.key() + " '" + earlier.path() + "' (line " + earlier.pathNode().line() + through
                        + "); roots must not nest, or a checkpoint would belong to two roots");
                break;
            }
        }
    }
}
