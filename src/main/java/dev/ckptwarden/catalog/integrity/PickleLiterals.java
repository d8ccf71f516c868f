package dev.ckptwarden.catalog.integrity;

import dev.ckptwarden.catalog.integrity.PickleReader.PickleException;

import java.math.BigInteger;

/**
 * The text literals of pickle protocol 0 (INT, LONG, FLOAT, UNICODE and STRING lines) decoded into the values
 * {@link PickleReader} pushes; pure functions of one line.
 */
final class PickleLiterals {

    private PickleLiterals() {
    }

    /** A Python int as a Long when it fits, a BigInteger otherwise. */
    static Object narrow(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /** Protocol 0 writes PUT and GET indexes as decimal text, which a hostile pickle need not respect. */
    static long memoIndex(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new PickleException("bad memo index in PUT/GET");
        }
    }

    static Object parseIntLine(String s) {
        String t = s.trim();
        if (t.equals("01")) {
            return Boolean.TRUE;
        }
        if (t.equals("00")) {
            return Boolean.FALSE;
        }
        try {
            return narrow(new BigInteger(t));
        } catch (NumberFormatException e) {
            throw new PickleException("bad INT literal");
        }
    }

    static Object parseLongLine(String s) {
        String t = s.trim();
        if (t.endsWith("L")) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return narrow(new BigInteger(t));
        } catch (NumberFormatException e) {
            throw new PickleException("bad LONG literal");
        }
    }

    static Object parseFloatLine(String s) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw new PickleException("bad FLOAT literal");
        }
    }

    /** Decodes Python's raw-unicode-escape: only backslash-u and backslash-U sequences are escapes. */
    static String rawUnicodeEscape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == 'u' || s.charAt(i + 1) == 'U')) {
                int len = s.charAt(i + 1) == 'u' ? 4 : 8;
                if (i + 2 + len <= s.length()) {
                    try {
                        out.appendCodePoint(Integer.parseInt(s.substring(i + 2, i + 2 + len), 16));
                        i += 1 + len;
                        continue;
                    } catch (IllegalArgumentException e) {
                        // not an escape after all: keep the text as written
                    }
                }
            }
            out.append(c);
        }
        return out.toString();
    }

    /** Decodes the repr() of a Python 2 str as written by protocol 0's STRING opcode. */
    static String unquote(String s) {
        String t = s.trim();
        if (t.length() < 2 || t.charAt(0) != t.charAt(t.length() - 1) || (t.charAt(0) != '\'' && t.charAt(0) != '"')) {
            throw new PickleException("STRING without quotes");
        }
        String body = t.substring(1, t.length() - 1);
        StringBuilder out = new StringBuilder(body.length());
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c != '\\' || i + 1 == body.length()) {
                out.append(c);
                continue;
            }
            char e = body.charAt(++i);
            switch (e) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case '0' -> out.append('\0');
                case 'x' -> {
                    if (i + 2 < body.length() && isHex(body.charAt(i + 1)) && isHex(body.charAt(i + 2))) {
                        out.append((char) Integer.parseInt(body.substring(i + 1, i + 3), 16));
                        i += 2;
                    } else {
                        out.append("\\x");
                    }
                }
                default -> out.append(e);
            }
        }
        return out.toString();
    }

    private static boolean isHex(char c) {
        return Character.digit(c, 16) >= 0;
    }
}
