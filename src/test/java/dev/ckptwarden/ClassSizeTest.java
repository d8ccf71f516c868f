package dev.ckptwarden;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * No production source file over {@value #MAX_LINES} lines unless the Javadoc of its type says why it is
 * long, in a sentence beginning "Why this class is long:" (a newcomer reads a class whole; one that
 * cannot be split says so where they start reading).
 */
class ClassSizeTest {

    static final int MAX_LINES = 400;
    private static final Pattern REASON = Pattern.compile("Why this class is long:");
    private static final Pattern ANNOTATIONS = Pattern.compile("\\s*(?:@[\\w.]+(?:\\([^)]*\\))?\\s*)*");

    @Test
    void noProductionClassIsLongWithoutSayingWhy() {
        assertThat(oversizedWithoutReason(Path.of("src/main/java")))
                .as("source files over %d lines whose type's Javadoc does not say 'Why this class is long:'", MAX_LINES)
                .isEmpty();
    }

    @Test
    void aLongClassPassesOnlyWhenItsJavadocSaysWhy(@TempDir Path src) throws IOException {
        String body = "    int x;\n".repeat(MAX_LINES);
        write(src.resolve("a/Long.java"), "package a;\n\n/** Does many things. */\nfinal class Long {\n" + body + "}\n");
        write(src.resolve("a/Explained.java"), "package a;\n\n/**\n * A parser.\n *\n * <p>Why this class is long:"
                + " one opcode table.\n */\n@SuppressWarnings(\"x\")\npublic final class Explained {\n" + body + "}\n");
        write(src.resolve("a/Short.java"), "package a;\n\nclass Short {\n}\n");
        // A reason on a nested type is not the type's own Javadoc.
        write(src.resolve("b/Nested.java"), "package b;\n\nclass Nested {\n    /** Why this class is long: no. */\n"
                + "    class Inner {\n    }\n" + body + "}\n");

        assertThat(oversizedWithoutReason(src)).containsExactly("a/Long.java (" + (MAX_LINES + 5) + " lines)",
                "b/Nested.java (" + (MAX_LINES + 7) + " lines)");
    }

    /** Source files under {@code root} over the limit whose top-level type's Javadoc gives no reason, sorted. */
    static List<String> oversizedWithoutReason(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".java"))
                    .sorted()
                    .map(p -> {
                        List<String> lines = read(p);
                        if (lines.size() <= MAX_LINES || explainsLength(String.join("\n", lines), typeName(p))) {
                            return null;
                        }
                        return root.relativize(p).toString().replace('\\', '/') + " (" + lines.size() + " lines)";
                    })
                    .filter(java.util.Objects::nonNull)
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether the Javadoc directly before the declaration of {@code type} gives the reason. */
    static boolean explainsLength(String source, String type) {
        Matcher declaration = Pattern.compile("^[ \\t]*(?:(?:public|final|abstract|sealed|non-sealed|strictfp)\\s+)*"
                + "(?:class|interface|record|enum|@interface)\\s+" + Pattern.quote(type) + "\\b", Pattern.MULTILINE)
                .matcher(source);
        if (!declaration.find()) {
            return false;
        }
        String before = source.substring(0, declaration.start());
        int end = before.lastIndexOf("*/");
        int start = end < 0 ? -1 : before.lastIndexOf("/**", end);
        // Only annotations may stand between the Javadoc and the declaration.
        return start >= 0 && ANNOTATIONS.matcher(before.substring(end + 2)).matches()
                && REASON.matcher(before.substring(start, end)).find();
    }

    private static String typeName(Path file) {
        String name = file.getFileName().toString();
        return name.substring(0, name.length() - ".java".length());
    }

    private static List<String> read(Path p) {
        try {
            return Files.readAllLines(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
