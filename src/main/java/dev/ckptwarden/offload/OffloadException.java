package dev.ckptwarden.offload;

import software.amazon.awssdk.awscore.exception.AwsServiceException;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * An offload or restore that did not happen, and why, in one line naming the remote URI. By the time
 * it is thrown, the partial remote files it wrote have been removed (or the message says which could
 * not be) and nothing local was touched.
 */
public final class OffloadException extends IOException {

    /** What kind of failure; its {@link #words()} end up in an eviction's outcome ({@code failed:offload <words>}). */
    public enum Kind {
        UNREACHABLE("unreachable", "unreachable"),
        AUTHENTICATION("authentication", "authentication failed"),
        HOST_KEY("host_key", "host key not trusted"),
        WRITE("write", "remote write failed"),
        READ("read", "remote read failed"),
        VERIFICATION("verification", "verification failed"),
        CONFLICT("conflict", "remote conflict"),
        LOCAL("local_read", "local read failed"),
        LOCAL_CHANGED("changed", "changed during copy"),
        UNSAFE("symbolic_link", "symbolic link"),
        USAGE("bad_target", "bad target");

        private final String id;
        private final String words;

        Kind(String id, String words) {
            this.id = id;
            this.words = words;
        }

        /** A short snake_case name, the {@code reason} label of {@code ckpt_warden_offload_failures_total}. */
        public String id() {
            return id;
        }

        public String words() {
            return words;
        }
    }

    private final Kind kind;

    public OffloadException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public OffloadException(Kind kind, String message) {
        this(kind, message, null);
    }

    public Kind kind() {
        return kind;
    }

    /**
     * The kind a remote failure belongs to, from its cause chain: refused or unresolvable connections
     * are {@link Kind#UNREACHABLE}, rejected keys or S3 credentials {@link Kind#AUTHENTICATION}, an
     * unknown or changed SSH host key {@link Kind#HOST_KEY}; anything else is {@code otherwise}.
     */
    public static Kind classify(Throwable t, Kind otherwise) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(Locale.ROOT);
            if (c instanceof ConnectException || c instanceof NoRouteToHostException || c instanceof UnknownHostException
                    || m.contains("connection refused")) {
                return Kind.UNREACHABLE;
            }
            if (c instanceof SocketTimeoutException && m.contains("connect")) {
                return Kind.UNREACHABLE;
            }
            if (c.getClass().getName().startsWith("com.jcraft.jsch.")) {
                if (m.contains("auth fail") || m.contains("auth cancel")) {
                    return Kind.AUTHENTICATION;
                }
                if (m.contains("unknownhostkey") || m.contains("hostkey has been changed") || m.contains("reject hostkey")) {
                    return Kind.HOST_KEY;
                }
                if (m.contains("timeout: socket is not established") || m.contains("connection is closed by foreign host")
                        && c.getCause() instanceof ConnectException) {
                    return Kind.UNREACHABLE;
                }
            }
            if (c instanceof AwsServiceException s && (s.statusCode() == 401 || s.statusCode() == 403)) {
                return Kind.AUTHENTICATION;
            }
        }
        return otherwise;
    }
}
