package dev.ckptwarden.config;

/**
 * The syntax check of a {@code patterns} entry such as {@code weights.{epoch:02d}-{val_loss:.2f}.hdf5}: braces
 * balanced, not nested, and at least one named field. Matching names against it is the catalog's job.
 */
final class NameTemplateSyntax {

    private NameTemplateSyntax() {
    }

    /** @throws IllegalArgumentException naming the pattern and the character position at fault */
    static void validate(String pattern) {
        int fields = 0;
        int open = -1;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '{') {
                if (open >= 0) {
                    throw problem(pattern, "'{' at character " + (i + 1) + " opens a field inside another");
                }
                open = i;
            } else if (c == '}') {
                if (open < 0) {
                    throw problem(pattern, "'}' at character " + (i + 1) + " closes no field");
                }
                String field = pattern.substring(open + 1, i);
                int colon = field.indexOf(':');
                String name = colon < 0 ? field : field.substring(0, colon);
                if (name.isBlank()) {
                    throw problem(pattern, "the field at character " + (open + 1) + " has no name");
                }
                fields++;
                open = -1;
            }
        }
        if (open >= 0) {
            throw problem(pattern, "'{' at character " + (open + 1) + " is never closed");
        }
        if (fields == 0) {
            throw problem(pattern, "no {field}; a pattern needs at least one, like {epoch} or {val_loss:.2f}");
        }
    }

    private static IllegalArgumentException problem(String pattern, String what) {
        return new IllegalArgumentException("pattern '" + pattern + "': " + what);
    }
}
