package dev.ckptwarden.config;

import java.util.List;

/** A YAML value with the position it was written at, so that every error can name its line. */
sealed interface YamlNode permits YamlNode.Mapping, YamlNode.Sequence, YamlNode.Scalar {

    int line();

    int column();

    /** How the value reads in an error message: "a mapping", "a list", "'lots'", "nothing". */
    String describe();

    /** A key as written, with its own position (an unknown key is reported where the key is). */
    record Entry(String key, int line, int column, YamlNode value) {
    }

    record Mapping(int line, int column, List<Entry> entries) implements YamlNode {
        public Mapping {
            entries = List.copyOf(entries);
        }

        @Override
        public String describe() {
            return "a mapping";
        }
    }

    record Sequence(int line, int column, List<YamlNode> items) implements YamlNode {
        public Sequence {
            items = List.copyOf(items);
        }

        @Override
        public String describe() {
            return "a list";
        }
    }

    /**
     * A plain or quoted value. {@code type} is what the YAML parser decided ({@code 3} is INT,
     * {@code "3"} is STRING); {@code alias} marks a {@code *name} reference, which is not supported.
     */
    record Scalar(int line, int column, String text, Type type, boolean alias) implements YamlNode {
        enum Type { STRING, INT, FLOAT, BOOLEAN, NULL }

        boolean isNull() {
            return type == Type.NULL;
        }

        @Override
        public String describe() {
            return isNull() ? "nothing" : "'" + text + "'";
        }
    }
}
