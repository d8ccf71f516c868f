package dev.ckptwarden.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Loads and validates {@code ckpt-warden.yaml}, reporting every error with file, line, column and
 * full key path in one pass.
 *
 * <p>Decisions a user can rely on:
 * <ul>
 *   <li>A missing (or empty) {@code agent:} means all defaults: state_dir {@code /var/lib/ckpt-warden},
 *       listen {@code 127.0.0.1:9847}, reconcile_interval 5m, settle_time 10s, embedded registry,
 *       no cluster, metrics_max_runs 500. A file without roots is an error.</li>
 *   <li>{@code agent.state_dir} is resolved against the working directory (what systemd's
 *       {@code WorkingDirectory=} and "run from the checkout" expect); root paths and names are kept
 *       exactly as written.</li>
 *   <li>{@code CKPT_WARDEN_LISTEN} and {@code CKPT_WARDEN_STATE_DIR}, when set and not blank, override
 *       {@code agent.listen} and {@code agent.state_dir}; they are validated the same way and their
 *       errors name the variable. The file's own values must still be valid.</li>
 *   <li>A root without {@code retention:} is watch-only; its action defaults to {@code report}, and
 *       {@code delete} or {@code offload} on it is an error. With retention, the action defaults to
 *       {@code offload} when an {@code offload:} block is present, else {@code delete}.</li>
 *   <li>Empty {@code retention:}, {@code quota:}, {@code disk:} or {@code offload:} blocks are errors:
 *       they would silently do nothing.</li>
 * </ul>
 */
public final class ConfigLoader {

    private ConfigLoader() {
    }

    /** Loads {@code file} with the process environment for the per-host overrides. */
    public static Config load(Path file) throws ConfigException {
        return load(file, System.getenv());
    }

    public static Config load(Path file, Map<String, String> env) throws ConfigException {
        String yaml;
        try {
            // Not read at all when too large: a wrong file (a log, a dump) must not fill the heap.
            long bytes = Files.size(file);
            if (bytes > YamlTreeReader.MAX_CHARS) {
                throw single(file, YamlTreeReader.tooLarge(bytes + " bytes"));
            }
            yaml = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw single(file, "configuration file not found");
        } catch (AccessDeniedException e) {
            throw single(file, "permission denied reading the configuration file");
        } catch (CharacterCodingException e) {
            throw single(file, "not UTF-8 text");
        } catch (IOException e) {
            throw single(file, "cannot read the configuration file: "
                    + (Files.isDirectory(file) ? "it is a directory" : String.valueOf(e.getMessage())));
        }
        return parse(yaml, file, env);
    }

    /**
     * Validates YAML text.
     *
     * @param reportedAs the file name errors carry and {@link Config#source()} holds (null allowed)
     */
    public static Config parse(String yaml, Path reportedAs, Map<String, String> env) throws ConfigException {
        Objects.requireNonNull(yaml, "yaml");
        Objects.requireNonNull(env, "env");
        ConfigErrors errors = new ConfigErrors(reportedAs);
        // a byte order mark is invisible in editors and would otherwise become part of the first key
        String text = yaml.startsWith("\uFEFF") ? yaml.substring(1) : yaml;
        YamlNode document = YamlTreeReader.read(text, errors);
        if (document == null || (document instanceof YamlNode.Scalar s && s.isNull())) {
            if (errors.isEmpty()) {
                errors.at(1, 1, "", "the file is empty: no roots configured");
            }
            throw new ConfigException(errors.sorted());
        }
        MappingReader top = MappingReader.of(document, "", errors,
                "a mapping with agent: and roots: at the top level", "agent", "roots");
        if (top == null) {
            throw new ConfigException(errors.sorted());
        }
        AgentSettings agent = AgentSectionReader.read(top.get("agent"), errors, env);
        List<RootConfig> roots = RootSectionReader.read(top, errors, agent.stateDir());
        errors.throwIfAny();
        return new Config(reportedAs, agent, roots);
    }

    private static ConfigException single(Path file, String message) {
        return new ConfigException(List.of(new ConfigError(file, 0, 0, "", message)));
    }
}
