package dev.ckptwarden.catalog.names;

/** A {@code patterns} name template that cannot be used; the message names the template and the fault. */
public final class NamePatternException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String template;

    NamePatternException(String template, String problem) {
        super("name pattern \"" + template + "\": " + problem);
        this.template = template;
    }

    /** The template as the user wrote it. */
    public String template() {
        return template;
    }
}
