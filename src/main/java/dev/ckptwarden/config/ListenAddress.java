package dev.ckptwarden.config;

/** A validated {@code host:port} for {@code agent.listen}; IPv6 hosts are written in brackets. */
public record ListenAddress(String host, int port) {

    private static final String EXAMPLE = "expected host:port like 127.0.0.1:9847";

    /** @throws IllegalArgumentException with a one-line message quoting the text */
    public static ListenAddress parse(String text) {
        String t = text.strip();
        String host;
        String port;
        if (t.startsWith("[")) {
            int close = t.indexOf("]:");
            if (close < 0) {
                throw new IllegalArgumentException(EXAMPLE + " or [::1]:9847, got '" + text + "'");
            }
            host = t.substring(1, close);
            port = t.substring(close + 2);
        } else {
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(EXAMPLE + ", got '" + text + "'");
            }
            host = t.substring(0, colon);
            port = t.substring(colon + 1);
            if (host.contains(":")) {
                throw new IllegalArgumentException("an IPv6 host must be in brackets, like [::1]:9847, got '" + text + "'");
            }
        }
        if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException(EXAMPLE + " (0.0.0.0 for every interface), got '" + text + "'");
        }
        int number;
        try {
            number = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(EXAMPLE + ", got '" + text + "' (the port is not a number)");
        }
        // Port 0 asks the kernel for a free port (tests, several agents on one host); the agent logs the one it got.
        if (number < 0 || number > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535, got " + number + " in '" + text + "'");
        }
        return new ListenAddress(host, number);
    }
}
