package dev.ckptwarden.export;

import dev.ckptwarden.export.HttpApi.ApiError;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The query parameters of an API request, decoded and checked; what a client got wrong is a 400 {@link ApiError}. */
final class QueryParams {

    private QueryParams() {
    }

    /** The parameter's value; missing or blank is refused. */
    static String required(Map<String, String> query, String name) {
        String v = query.get(name);
        if (v == null || v.isBlank()) {
            throw new ApiError(400, "missing parameter '" + name + "'");
        }
        return v;
    }

    /** A {@code true}/{@code false} parameter, false when absent; any other value is refused. */
    static boolean flag(Map<String, String> query, String name) {
        String v = query.get(name);
        if (v == null) {
            return false;
        }
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ApiError(400, "parameter '" + name + "' must be true or false, not '" + v + "'");
        };
    }

    /** Decodes a query string; unknown, repeated or undecodable parameters are refused (a typo must not be ignored). */
    static Map<String, String> parse(String rawQuery, Set<String> allowed) {
        Map<String, String> out = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return out;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name;
            String value;
            try {
                name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ApiError(400, "malformed query parameter '" + pair + "'");
            }
            if (!allowed.contains(name)) {
                throw new ApiError(400, "unknown parameter '" + name + "'"
                        + (allowed.isEmpty() ? " (this path takes none)" : " (known: " + String.join(", ", new TreeSet<>(allowed)) + ")"));
            }
            if (out.put(name, value) != null) {
                throw new ApiError(400, "parameter '" + name + "' given more than once");
            }
        }
        return out;
    }
}
